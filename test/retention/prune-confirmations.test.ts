// Pruning batch rows keeps the accounts' last sync: a batch row lists the accounts it found unchanged
// (their rows untouched, its time their last sync), so before it goes, an account whose latest such
// confirmation it holds gets that time in its row; an account confirmed since is not written.
import { afterEach, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { prune } from "../../src/retention/prune.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { DEFAULT_DAYS, daysAgo, insertPastRun, runsWithBatches } from "./history.js";

let database: TestDatabase;
let prisma: PrismaClient;

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
});

afterEach(async () => {
  await prisma.$disconnect();
  await database.drop();
});

/** Makes the run's only batch confirm the accounts, as a batch that found them unchanged does. */
async function confirm(runId: number, ids: string[]): Promise<void> {
  await prisma.$executeRaw`
    UPDATE sync_run_batches
       SET confirmed_ids = ${ids}::text[], first_confirmed_id = (SELECT min(id) FROM unnest(${ids}::text[]) id),
           last_confirmed_id = (SELECT max(id) FROM unnest(${ids}::text[]) id)
     WHERE run_id = ${runId}`;
}

async function lastSynced(): Promise<Record<string, { view: Date | null; row: Date | null }>> {
  const rows = await prisma.$queryRaw<{ id: string; view: Date | null; row: Date | null }[]>`
    SELECT a.id, s.last_synced_at AS view, a.last_synced_at AS row
      FROM accounts a JOIN account_current_state s ON s.account_id = a.id`;
  return Object.fromEntries(rows.map(({ id, view, row }) => [id, { view, row }]));
}

it("folds into an account's row the confirmation it prunes, and writes no row confirmed since", async () => {
  const longAgo = daysAgo(20);
  await prisma.account.createMany({
    data: ["left", "steady"].map((id) => ({
      id,
      lastStatus: "ok",
      lastSyncedAt: longAgo,
      lastAttemptAt: longAgo,
    })),
  });
  const old = await insertPastRun(prisma, { age: 10 });
  await confirm(old, ["left", "steady"]);
  const latest = await insertPastRun(prisma, { age: 0 });
  await confirm(latest, ["steady"]);
  const before = await lastSynced();
  const steadyVersion = () =>
    prisma.$queryRaw<
      { v: string }[]
    >`SELECT xmin::text || ' ' || xmax::text AS v FROM accounts WHERE id = 'steady'`;
  const steadyBefore = await steadyVersion();

  await prune(prisma, { days: DEFAULT_DAYS, chunkSize: 1, pauseMs: 0 });

  expect(await runsWithBatches(prisma)).toEqual([latest]);
  const after = await lastSynced();
  // The old batch's time (10 days ago) before and after: not the row's older one.
  expect(before.left?.view?.getTime()).toBeGreaterThan(longAgo.getTime());
  expect(before.left?.view?.getTime()).toBeLessThan(daysAgo(9).getTime());
  expect(after.left).toEqual({ view: before.left?.view, row: before.left?.view });
  expect(after.steady?.view).toEqual(before.steady?.view);
  expect(after.steady?.row?.getTime()).toBe(longAgo.getTime());
  expect(await steadyVersion()).toEqual(steadyBefore);
});
