// What reconciling a source's rows stores as expected values (each column's, and `exists` for every id
// listed): an id listed more than once keeps its first row's, within a page and across pages; a rerun
// applies only what changed.
import { expect, it } from "vitest";
import type { SourcePage } from "../../src/accounts/source/read-source.js";
import { reconcileTrackedIds } from "../../src/accounts/source/reconcile.js";
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

  expect(rerun.expectations).toMatchObject({ set: 1, removed: 2 });
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
