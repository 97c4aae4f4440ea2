// What reconciling a source's rows stores as expected values (each column's, and `exists` for every id
// listed): an id listed more than once keeps its first row's, within a page and across pages; a rerun
// applies only what changed, sending only the accounts whose digest is not the stored one; any other
// write to account_expectations makes the next run compare and put back the accounts it touched.
import { expect, it } from "vitest";
import type { SourcePage } from "../../src/accounts/source/read-source.js";
import { reconcileTrackedIds } from "../../src/accounts/source/reconcile.js";
import { useMigratedDatabase } from "../helpers/migrated-database.js";
import { recordingPrisma } from "../helpers/recording-prisma.js";

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
  const stored = await storedExpectations();

  // Unchanged where first listed, changed where listed again in a later page: nothing to apply.
  const rerun = await reconcile([
    { columns: COLUMNS, rows: [["acc-1", "first", true]] },
    {
      columns: COLUMNS,
      rows: [
        ["acc-2", "only", false],
        ["acc-1", "fourth", false],
      ],
    },
    { columns: COLUMNS, rows: [["acc-2", "again", true]] },
  ]);

  expect(rerun.duplicates).toBe(2);
  expect(rerun.expectations).toMatchObject({ set: 0, removed: 0 });
  expect(await storedExpectations()).toEqual(stored);
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

it("stores hostile values exactly as given, and finds them unchanged on a rerun", async () => {
  const hostile = [
    'quote " backslash \\ slash / tab \t newline \n',
    "control \u0001\u001f del \u007f",
    "unicode ção 日本 \u2028 😀",
    "",
  ];
  const rows = hostile.map((name, index) => [`acc-${index + 1}`, name, null, index % 2 === 0]);
  const pages = [{ columns: ["id", "name", "externalId", "active"], rows }];
  await reconcile(pages);

  const names = await setup.prisma.$queryRaw<{ account_id: string; expected_value: string }[]>`
    SELECT account_id, expected_value FROM account_expectations WHERE field = 'name' ORDER BY account_id`;
  expect(names).toEqual(
    hostile.map((name, index) => ({ account_id: `acc-${index + 1}`, expected_value: name })),
  );
  expect((await reconcile(pages)).expectations).toMatchObject({ set: 0, removed: 0 });
});

const SOURCE: SourcePage[] = [
  {
    columns: COLUMNS,
    rows: [
      ["acc-1", "ext-1", true],
      ["acc-2", "ext-2", false],
    ],
  },
];

/** Reconciles `pages`, with the ids of the accounts whose expected values were sent to PostgreSQL. */
async function reconcileRecording(pages: SourcePage[]) {
  const { prisma, sent } = recordingPrisma(setup.database.url);
  try {
    const result = await reconcileTrackedIds(prisma, pages, {
      rowsFrom: "the test's rows",
      limit: { maxShare: 1, howToOverride: "" },
    });
    const ids = sent
      .filter((statement) => statement.text.includes("INSERT INTO plugchat_source_expectations"))
      .flatMap((statement) => statement.values.filter((value) => typeof value === "string"))
      .flatMap((json) => JSON.parse(json) as { accountId: string }[])
      .map((row) => row.accountId);
    return { sent: ids, expectations: result.expectations };
  } finally {
    await prisma.$disconnect();
  }
}

it("sends PostgreSQL only the accounts whose row changed since the last run", async () => {
  expect((await reconcileRecording(SOURCE)).sent).toEqual(["acc-1", "acc-2"]);

  expect(await reconcileRecording(SOURCE)).toMatchObject({ sent: [], expectations: { set: 0, removed: 0 } });

  const changed = await reconcileRecording([
    {
      columns: COLUMNS,
      rows: [
        ["acc-1", "ext-1", true],
        ["acc-2", "ext-2 renamed", false],
      ],
    },
  ]);
  expect(changed).toMatchObject({ sent: ["acc-2"], expectations: { set: 1, removed: 0 } });
  expect(await storedExpectations()).toContainEqual({
    account_id: "acc-2",
    field: "externalId",
    expected_value: "ext-2 renamed",
  });
});

it("compares again only the account whose stored digest was edited by hand, and stores it back", async () => {
  const source: SourcePage[] = [
    { columns: COLUMNS, rows: [...(SOURCE[0]?.rows ?? []), ["acc-3", "ext-3", true]] },
  ];
  await reconcile(source);
  const digests = () =>
    setup.prisma.$queryRaw<{ account_id: string; digest: string }[]>`
      SELECT account_id, digest FROM account_expectation_digests ORDER BY account_id`;
  const stored = await digests();
  // An edit of another length, then one that rewrites acc-2's digest after it in the table: PostgreSQL
  // reads them in that order, so a prefix cut from the short digest would shift acc-2's.
  await setup.prisma.$executeRawUnsafe(
    "UPDATE account_expectation_digests SET digest = 'edited' WHERE account_id = 'acc-1'",
  );
  await setup.prisma.$executeRawUnsafe(
    "UPDATE account_expectation_digests SET digest = digest WHERE account_id = 'acc-2'",
  );

  const rerun = await reconcileRecording(source);

  expect(rerun).toMatchObject({ sent: ["acc-1"], expectations: { set: 0, removed: 0 } });
  expect(await digests()).toEqual(stored);
});

it("puts back, on the next run, expected values written by anything else: an edit, a removal, a truncation", async () => {
  await reconcile(SOURCE);
  const asStored = await storedExpectations();

  await setup.prisma.$executeRawUnsafe(
    "UPDATE account_expectations SET expected_value = 'edited' WHERE account_id = 'acc-1' AND field = 'externalId'",
  );
  await setup.prisma.$executeRawUnsafe(
    "DELETE FROM account_expectations WHERE account_id = 'acc-2' AND field = 'active'",
  );
  expect((await reconcile(SOURCE)).expectations).toMatchObject({ set: 2, removed: 0 });
  expect(await storedExpectations()).toEqual(asStored);

  await setup.prisma.$executeRawUnsafe("TRUNCATE account_expectations");
  expect((await reconcile(SOURCE)).expectations).toMatchObject({ set: 6, removed: 0 });
  expect(await storedExpectations()).toEqual(asStored);
});

it("removes every expected value when the source's rows no longer have expected-value columns", async () => {
  await reconcile(SOURCE);

  const idsOnly = await reconcile([{ columns: ["id"], rows: [["acc-1"], ["acc-2"]] }]);

  expect(idsOnly.expectations).toMatchObject({ set: 0, removed: 6 });
  expect(await storedExpectations()).toEqual([]);
  // Listed again with values, they are all stored again: no digest outlived its values.
  expect((await reconcile(SOURCE)).expectations).toMatchObject({ set: 6, removed: 0 });
});
