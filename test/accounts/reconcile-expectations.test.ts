// What reconciling a source's rows stores as expected values (each column's, and `exists` for every id
// listed): an id listed more than once keeps its first row's, within a page and across pages; a rerun
// applies only what changed; an account's values as sent compare equal to PostgreSQL's aggregate of
// the same stored values, whatever they hold.
import { expect, it } from "vitest";
import type { SourcePage } from "../../src/accounts/source/read-source.js";
import { reconcileTrackedIds } from "../../src/accounts/source/reconcile.js";
import { expectationsText } from "../../src/db/sql/expectations.js";
import { useMigratedDatabase } from "../helpers/migrated-database.js";

const COLUMNS = ["id", "externalId", "active"];

const setup = useMigratedDatabase({ for: "test" });

function reconcile(pages: SourcePage[]) {
  return reconcileTrackedIds(setup.prisma, pages, {
    rowsFrom: "the test's rows",
    limit: { maxShare: 1, howToOverride: "" },
  });
}

async function storedExpectations() {
  return setup.prisma.$queryRaw<{ account_id: string; field: string; expected_value: string | null }[]>`
    SELECT account_id, field, expected_value FROM account_expectations ORDER BY account_id, field`;
}

it("keeps the expected values of an id's first row when the id is listed again, in its page or a later one", async () => {
  const result = await reconcile([
    {
      columns: COLUMNS,
      rows: [
        ["acc-1", "first", true],
        ["acc-2", "only", false],
        ["acc-1", "second", false],
      ],
    },
    { columns: COLUMNS, rows: [["acc-1", "third", false]] },
  ]);

  expect(result.duplicates).toBe(2);
  expect(await storedExpectations()).toEqual([
    { account_id: "acc-1", field: "active", expected_value: "true" },
    { account_id: "acc-1", field: "exists", expected_value: "true" },
    { account_id: "acc-1", field: "externalId", expected_value: "first" },
    { account_id: "acc-2", field: "active", expected_value: "false" },
    { account_id: "acc-2", field: "exists", expected_value: "true" },
    { account_id: "acc-2", field: "externalId", expected_value: "only" },
  ]);
});

it("applies on a rerun only the expected values that changed, and removes those no longer given", async () => {
  await reconcile([
    {
      columns: COLUMNS,
      rows: [
        ["acc-1", "kept", true],
        ["acc-2", "old", true],
        ["acc-3", "gone", true],
      ],
    },
  ]);
  const [before] = await setup.prisma.$queryRaw<{ updated_at: Date }[]>`
    SELECT updated_at FROM account_expectations WHERE account_id = 'acc-1' AND field = 'externalId'`;

  const rerun = await reconcile([
    {
      columns: ["id", "externalId"],
      rows: [
        ["acc-1", "kept"],
        ["acc-2", "new"],
      ],
    },
  ]);

  // acc-1's active, acc-2's active, and all three of acc-3's, no longer listed.
  expect(rerun.expectations).toMatchObject({ set: 1, removed: 5 });
  expect(await storedExpectations()).toEqual([
    { account_id: "acc-1", field: "exists", expected_value: "true" },
    { account_id: "acc-1", field: "externalId", expected_value: "kept" },
    { account_id: "acc-2", field: "exists", expected_value: "true" },
    { account_id: "acc-2", field: "externalId", expected_value: "new" },
  ]);
  const [after] = await setup.prisma.$queryRaw<{ updated_at: Date }[]>`
    SELECT updated_at FROM account_expectations WHERE account_id = 'acc-1' AND field = 'externalId'`;
  expect(after?.updated_at).toEqual(before?.updated_at);
});

it("writes an account's expected values as PostgreSQL aggregates the stored ones, so that an unchanged account is found by one comparison", async () => {
  const hostile = [
    'quote " backslash \\ slash / tab \t newline \n',
    "control \u0001\u001f del \u007f",
    "unicode ção 日本 \u2028 😀",
    "",
  ];
  const rows = hostile.map((name, index) => [`acc-${index + 1}`, name, null, index % 2 === 0]);
  await reconcile([{ columns: ["id", "name", "externalId", "active"], rows }]);

  const aggregated = await setup.prisma.$queryRaw<{ account_id: string; text: string }[]>`
    SELECT account_id, json_object_agg(field, expected_value)::text AS text
      FROM (SELECT * FROM account_expectations ORDER BY account_id, field) in_key_order
     GROUP BY account_id ORDER BY account_id`;
  expect(aggregated).toEqual(
    hostile.map((name, index) => ({
      account_id: `acc-${index + 1}`,
      text: expectationsText({ exists: "true", name, externalId: null, active: String(index % 2 === 0) }),
    })),
  );
});
