import { beforeEach, describe, expect, it } from "vitest";
import {
  type AccountListing,
  InvalidAccountIdsError,
  listAccounts,
  trackAccounts,
  untrackAccounts,
} from "../../src/accounts/repository.js";
import { useMigratedDatabase } from "../helpers/migrated-database.js";

const setup = useMigratedDatabase();

beforeEach(async () => {
  await setup.prisma
    .$executeRaw`TRUNCATE account_versions, account_drift, account_expectations, account_mismatch_spans, sync_runs, accounts`;
});

async function collect(rows: AsyncIterable<AccountListing>): Promise<AccountListing[]> {
  const result: AccountListing[] = [];
  for await (const row of rows) result.push(row);
  return result;
}

const trackedIds = async () =>
  (await setup.prisma.account.findMany({ where: { tracked: true }, orderBy: { id: "asc" } })).map(
    (row) => row.id,
  );

describe("trackAccounts", () => {
  it("adds new ids, then counts them as already tracked when given again", async () => {
    expect(await trackAccounts(setup.prisma, ["a", "b", "c"])).toEqual({
      added: 3,
      retracked: 0,
      alreadyTracked: 0,
    });
    expect(await trackAccounts(setup.prisma, ["b", "c", "d"], { batchSize: 2 })).toEqual({
      added: 1,
      retracked: 0,
      alreadyTracked: 2,
    });
    expect(await trackedIds()).toEqual(["a", "b", "c", "d"]);
  });

  it("tracks a removed id again, keeping its row as it was", async () => {
    await trackAccounts(setup.prisma, ["kept"]);
    await setup.prisma.account.update({
      where: { id: "kept" },
      data: {
        tracked: false,
        name: "Kept Inc.",
        lastStatus: "ok",
        addedAt: new Date("2026-01-01T00:00:00Z"),
      },
    });
    expect(await trackAccounts(setup.prisma, ["kept", "new"])).toEqual({
      added: 1,
      retracked: 1,
      alreadyTracked: 0,
    });
    const row = await setup.prisma.account.findUniqueOrThrow({ where: { id: "kept" } });
    expect(row).toMatchObject({ tracked: true, name: "Kept Inc.", lastStatus: "ok" });
    expect(row.addedAt.toISOString()).toBe("2026-01-01T00:00:00.000Z");
  });

  it("counts an id given twice once", async () => {
    expect(await trackAccounts(setup.prisma, ["a", "a", "b"])).toEqual({
      added: 2,
      retracked: 0,
      alreadyTracked: 0,
    });
  });

  it.each([
    ["a slash", "a/b"],
    ["a parent path", ".."],
    ["a question mark", "a?b=1"],
    ["a hash", "a#b"],
    ["a percent sign", "a%2Fb"],
    ["a space", "a b"],
    ["a control character", "a\u0001b"],
    ["a line break", "a\nb"],
    ["a DEL", "a\u007fb"],
    ["a look-alike letter", "аcc-1"],
    ["nothing", ""],
    ["129 characters", "x".repeat(129)],
  ])("refuses an id with %s before any SQL, adding nothing", async (_label, id) => {
    const error = await trackAccounts(setup.prisma, ["good-1", id, "good-2"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAccountIdsError);
    expect((error as InvalidAccountIdsError).invalid).toEqual([id]);
    expect((error as Error).message).toMatch(
      /^1 invalid account id, nothing was added: ".*" \(an account id is/,
    );
    expect((error as Error).message).not.toContain("\n");
    expect(await setup.prisma.account.count()).toBe(0);
  });

  it("keeps the CHECK constraint behind it, as the last line of defence", async () => {
    await expect(setup.prisma.$executeRaw`INSERT INTO accounts (id) VALUES ('../x')`).rejects.toThrow(
      /accounts_id_format_check/,
    );
  });
});

describe("untrackAccounts", () => {
  it("sets tracked = false and keeps the row and its drift history", async () => {
    await trackAccounts(setup.prisma, ["a", "b", "gone"]);
    await setup.prisma.account.update({ where: { id: "gone" }, data: { tracked: false } });
    const [run] = await setup.prisma.$queryRaw<{ id: number }[]>`
      INSERT INTO sync_runs (trigger, status, finished_at) VALUES ('cli', 'succeeded', now()) RETURNING id`;
    await setup.prisma.$executeRaw`
      INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value)
      VALUES ('a', ${run?.id}, 'name', 'Old', 'New')`;

    expect(await untrackAccounts(setup.prisma, ["a", "gone", "nope", "a"])).toEqual({
      removed: ["a"],
      alreadyRemoved: ["gone"],
      unknown: ["nope"],
    });
    expect(await trackedIds()).toEqual(["b"]);
    expect(await setup.prisma.account.count()).toBe(3);
    expect(await setup.prisma.accountDrift.findMany({ select: { accountId: true, field: true } })).toEqual([
      { accountId: "a", field: "name" },
    ]);
  });
});

describe("listAccounts", () => {
  beforeEach(async () => {
    await trackAccounts(
      setup.prisma,
      Array.from({ length: 25 }, (_, index) => `acc-${String(index).padStart(2, "0")}`),
    );
    await setup.prisma.account.updateMany({
      where: { id: { in: ["acc-03", "acc-17"] } },
      data: { lastStatus: "failed" },
    });
    await setup.prisma.account.updateMany({
      where: { id: { in: ["acc-17", "acc-20"] } },
      data: { tracked: false },
    });
  });

  it("pages through the tracked accounts in id order", async () => {
    const rows = await collect(listAccounts(setup.prisma, { pageSize: 4 }));
    expect(rows).toHaveLength(23);
    expect(rows.map((row) => row.id)).toEqual([...rows.map((row) => row.id)].sort());
    expect(rows.some((row) => row.id === "acc-17" || row.id === "acc-20")).toBe(false);
    expect(rows[0]).toMatchObject({ id: "acc-00", tracked: true, status: "pending", consecutiveFailures: 0 });
  });

  it("includes removed accounts with includeRemoved, and filters by status", async () => {
    expect(await collect(listAccounts(setup.prisma, { includeRemoved: true, pageSize: 5 }))).toHaveLength(25);
    expect((await collect(listAccounts(setup.prisma, { status: "failed" }))).map((row) => row.id)).toEqual([
      "acc-03",
    ]);
    expect(
      (
        await collect(listAccounts(setup.prisma, { status: "failed", includeRemoved: true, pageSize: 1 }))
      ).map((row) => row.id),
    ).toEqual(["acc-03", "acc-17"]);
  });
});
