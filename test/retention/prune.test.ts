// Retention against the real PostgreSQL: each table loses exactly the rows that are due, never a row of
// the running or latest run, never a run something still names; a dry run says the same and removes nothing.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { prune, type RetentionDays } from "../../src/retention/prune.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { waitFor } from "../queue/helpers.js";
import {
  DEFAULT_DAYS,
  daysAgo,
  insertPastRun,
  insertSpan,
  KEEP_ALL,
  rowCounts,
  runIds,
  runsWithBatches,
  runsWithDrift,
} from "./history.js";

const ALL_7_DAYS: RetentionDays = {
  sync_run_batches: 7,
  sync_runs: 7,
  account_drift: 7,
  account_mismatch_spans: 7,
  account_versions: 7,
};

let database: TestDatabase;
let prisma: PrismaClient;

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.account.createMany({ data: ["a1", "a2", "a3"].map((id) => ({ id })) });
});

afterEach(async () => {
  await prisma.$disconnect();
  await database.drop();
});

/** Small chunks, no pause: every pass of these tests takes several chunks per table. */
function pruneNow(days: RetentionDays, options: { dryRun?: boolean } = {}) {
  return prune(prisma, { days, chunkSize: 2, pauseMs: 0, ...options });
}

describe("what a pass removes", () => {
  it("with the defaults, removes only batch rows older than 7 days and keeps all history", async () => {
    const old = await insertPastRun(prisma, { age: 30, batches: 3, drift: ["a1", "a2"] });
    const unreferenced = await insertPastRun(prisma, { age: 20, batches: 2 });
    const recent = await insertPastRun(prisma, { age: 3, batches: 2, drift: ["a1"] });
    await insertSpan(prisma, {
      accountId: "a1",
      beganBy: old,
      endedBy: unreferenced,
      beganAge: 30,
      endedAge: 20,
    });
    const latest = await insertPastRun(prisma, { age: 1 });

    const result = await pruneNow(DEFAULT_DAYS);

    expect(result.removed).toEqual({
      sync_run_batches: 5,
      account_drift: 0,
      account_mismatch_spans: 0,
      account_versions: 0,
      sync_runs: 0,
    });
    expect(await runsWithBatches(prisma)).toEqual([recent, latest]);
    expect(await runIds(prisma)).toEqual([old, unreferenced, recent, latest]);
    expect(await rowCounts(prisma)).toMatchObject({ account_drift: 3, account_mismatch_spans: 1 });
  });

  it("removes each table's rows past its own retention, and only those", async () => {
    const oldWithDrift = await insertPastRun(prisma, { age: 30, batches: 2, drift: ["a1", "a2", "a3"] });
    const oldBare = await insertPastRun(prisma, { age: 20 });
    const spanBegan = await insertPastRun(prisma, { age: 15 });
    const spanEnded = await insertPastRun(prisma, { age: 10 });
    const openSpan = await insertPastRun(prisma, { age: 9 });
    const recent = await insertPastRun(prisma, { age: 5, batches: 2, drift: ["a1"] });
    const latest = await insertPastRun(prisma, { age: 1, drift: ["a2"] });
    await insertSpan(prisma, {
      accountId: "a1",
      beganBy: spanBegan,
      endedBy: spanEnded,
      beganAge: 15,
      endedAge: 10,
    });
    await insertSpan(prisma, { accountId: "a2", beganBy: openSpan, endedBy: null, beganAge: 9 });
    await insertSpan(prisma, { accountId: "a3", beganBy: recent, endedBy: latest, beganAge: 5, endedAge: 1 });

    const result = await pruneNow(ALL_7_DAYS);

    // The open span and the span ended recently keep the runs they name; the others go.
    expect(await runIds(prisma)).toEqual([openSpan, recent, latest]);
    expect(await runsWithDrift(prisma)).toEqual([recent, latest]);
    expect(await runsWithBatches(prisma)).toEqual([recent, latest]);
    const spans = await prisma.accountMismatchSpan.findMany({ orderBy: { accountId: "asc" } });
    expect(spans.map((span) => span.accountId)).toEqual(["a2", "a3"]);
    expect(result.removed).toEqual({
      sync_run_batches: 6,
      account_drift: 3,
      account_mismatch_spans: 1,
      account_versions: 0,
      sync_runs: 4,
    });
    expect([oldWithDrift, oldBare].every((id) => id < openSpan)).toBe(true);
  });

  it("keeps a run that drift kept forever names, and prunes it once its drift is let go", async () => {
    const named = await insertPastRun(prisma, { age: 30, drift: ["a1"] });
    const bare = await insertPastRun(prisma, { age: 30 });
    const latest = await insertPastRun(prisma, { age: 1 });

    await pruneNow({ ...KEEP_ALL, sync_runs: 7 });
    expect(await runIds(prisma)).toEqual([named, latest]);
    expect(bare).toBeLessThan(latest);

    await pruneNow({ ...KEEP_ALL, sync_runs: 7, account_drift: 7 });
    expect(await runIds(prisma)).toEqual([latest]);
  });

  it("never removes a row of the running run or of the latest run, however old", async () => {
    const older = await insertPastRun(prisma, { age: 60, batches: 2, drift: ["a1"] });
    const running = await insertPastRun(prisma, { age: 50, status: "running", batches: 2, drift: ["a2"] });
    // Closed after the running one opened (a run closed by hand): the latest, though not running.
    const latest = await insertPastRun(prisma, { age: 40, status: "failed", batches: 2, drift: ["a3"] });
    await insertSpan(prisma, {
      accountId: "a1",
      beganBy: running,
      endedBy: latest,
      beganAge: 50,
      endedAge: 40,
    });

    const result = await pruneNow(ALL_7_DAYS);

    expect(await runIds(prisma)).toEqual([running, latest]);
    expect(await runsWithDrift(prisma)).toEqual([running, latest]);
    expect(await runsWithBatches(prisma)).toEqual([running, latest]);
    expect(await rowCounts(prisma)).toMatchObject({ account_mismatch_spans: 1 });
    expect(result.removed).toMatchObject({ sync_runs: 1, account_drift: 1, sync_run_batches: 2 });
    expect(older).toBeLessThan(running);
  });

  it("removes nothing on an empty database, and prunes batch rows whose run is gone", async () => {
    expect((await pruneNow(ALL_7_DAYS)).removed).toEqual({
      sync_run_batches: 0,
      account_drift: 0,
      account_mismatch_spans: 0,
      account_versions: 0,
      sync_runs: 0,
    });
    const run = await insertPastRun(prisma, { age: 30, batches: 3 });
    await prisma.$executeRaw`DELETE FROM sync_runs`;
    expect((await pruneNow(DEFAULT_DAYS)).removed.sync_run_batches).toBe(3);
    expect(run).toBeGreaterThan(0);
  });
});

describe("a dry run", () => {
  it("removes nothing and reports exactly what the pass then removes", async () => {
    const a = await insertPastRun(prisma, { age: 30, batches: 3, drift: ["a1", "a2"] });
    const b = await insertPastRun(prisma, { age: 20, batches: 2 });
    const c = await insertPastRun(prisma, { age: 12, drift: ["a3"] });
    await insertPastRun(prisma, { age: 2, batches: 4, drift: ["a1"] });
    await insertSpan(prisma, { accountId: "a1", beganBy: a, endedBy: b, beganAge: 30, endedAge: 20 });
    await insertSpan(prisma, { accountId: "a2", beganBy: b, endedBy: c, beganAge: 20, endedAge: 3 });
    await insertSpan(prisma, { accountId: "a3", beganBy: c, endedBy: null, beganAge: 12 });
    // Drift kept longer than runs: a run named by drift that stays must stay too.
    const days: RetentionDays = { ...ALL_7_DAYS, account_drift: 25 };

    const before = await rowCounts(prisma);
    const dry = await pruneNow(days, { dryRun: true });
    expect(await rowCounts(prisma)).toEqual(before);

    const real = await pruneNow(days);
    expect(real.removed).toEqual(dry.removed);
    expect(real.removed).toEqual({
      sync_run_batches: 6,
      account_drift: 2,
      account_mismatch_spans: 1,
      account_versions: 0,
      sync_runs: 1,
    });
    expect((await pruneNow(days, { dryRun: true })).removed).toEqual({
      sync_run_batches: 0,
      account_drift: 0,
      account_mismatch_spans: 0,
      account_versions: 0,
      sync_runs: 0,
    });
  });
});

describe("two pruners at once", () => {
  it("never fail: one prunes, the other skips or waits, and every due row goes once", async () => {
    for (let run = 0; run < 6; run++) {
      await insertPastRun(prisma, { age: 30 - run, batches: 5, drift: ["a1", "a2", "a3"] });
    }
    await insertPastRun(prisma, { age: 1 });
    const due = await pruneNow(ALL_7_DAYS, { dryRun: true });
    const [first, second, third] = await Promise.all([
      prune(prisma, { days: ALL_7_DAYS, chunkSize: 1, pauseMs: 5, whenBusy: "skip" }),
      prune(prisma, { days: ALL_7_DAYS, chunkSize: 1, pauseMs: 5, whenBusy: "skip" }),
      prune(prisma, { days: ALL_7_DAYS, chunkSize: 1, pauseMs: 5, whenBusy: "wait" }),
    ]);
    const ran = [first, second, third].filter((result) => result.ran);
    expect(ran.length).toBeGreaterThanOrEqual(1);
    const removed = (table: keyof typeof due.removed) =>
      ran.reduce((sum, result) => sum + (result.removed[table] ?? 0), 0);
    expect(removed("account_drift")).toBe(due.removed.account_drift);
    expect(removed("sync_run_batches")).toBe(due.removed.sync_run_batches);
    expect(removed("sync_runs")).toBe(due.removed.sync_runs);
    expect(third?.ran).toBe(true);
    expect([first, second].some((result) => !result?.ran)).toBe(true);
  });
});

describe("the pruning lock", () => {
  it("is held by a transaction that holds no snapshot, so vacuum can clean up behind the pass", async () => {
    for (let run = 0; run < 4; run++) await insertPastRun(prisma, { age: 30 - run, batches: 10 });
    await insertPastRun(prisma, { age: 1 });
    const pass = prune(prisma, { days: DEFAULT_DAYS, chunkSize: 1, pauseMs: 20 });
    const holder = await waitFor("the transaction holding the pruning lock", async () => {
      const [row] = await prisma.$queryRaw<{ xmin: string | null }[]>`
        SELECT backend_xmin::text AS xmin FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'idle in transaction'
           AND query LIKE '%pg_try_advisory_xact_lock%'`;
      return row;
    });
    expect((await pass).removed.sync_run_batches).toBe(40);
    expect(holder.xmin).toBeNull();
  });
});

describe("stopping a pass", () => {
  it("ends it after the chunk under way, reporting what it removed, and the next pass removes the rest", async () => {
    for (let run = 0; run < 4; run++) await insertPastRun(prisma, { age: 30 - run, batches: 10 });
    await insertPastRun(prisma, { age: 1 });
    const stop = new AbortController();
    const pass = prune(prisma, { days: DEFAULT_DAYS, chunkSize: 1, pauseMs: 20, signal: stop.signal });
    await waitFor("a first chunk removed", async () => (await prisma.syncRunBatch.count()) < 41);
    stop.abort();
    const stopped = await pass;
    const left = await prisma.syncRunBatch.count();
    expect(stopped.removed.sync_run_batches).toBe(41 - left);
    expect(left).toBeGreaterThan(1);
    expect((await pruneNow(DEFAULT_DAYS)).removed.sync_run_batches).toBe(left - 1);
  });
});

describe("cutoffs", () => {
  it("a row exactly as old as the retention is kept; a second older goes", async () => {
    const now = new Date();
    const run = await insertPastRun(prisma, { age: 30, batches: 0 });
    await insertPastRun(prisma, { age: 1 });
    await prisma.$executeRaw`
      INSERT INTO sync_run_batches (run_id, batch_index, written_by, written_at)
      VALUES (${run}, 0, 't', ${daysAgo(7, now)}), (${run}, 1, 't', ${new Date(daysAgo(7, now).getTime() - 1_000)})`;
    const result = await prune(prisma, { days: DEFAULT_DAYS, now });
    expect(result.removed.sync_run_batches).toBe(1);
    const left = await prisma.syncRunBatch.findMany({ where: { runId: run } });
    expect(left.map((batch) => batch.batchIndex)).toEqual([0]);
  });
});

describe("account_versions", () => {
  /** One instant for all versions: one ends exactly where the next starts. */
  const base = new Date();

  async function insertVersion(accountId: string, runId: number, from: number, to: number | null) {
    await prisma.$executeRaw`
      INSERT INTO account_versions (account_id, valid_from, valid_to, run_id, "exists")
      VALUES (${accountId}, ${daysAgo(from, base)}, ${to === null ? null : daysAgo(to, base)}, ${runId}, true)`;
  }

  async function versionsOf(accountId: string) {
    return prisma.$queryRaw<{ run_id: number; valid_from: Date; valid_to: Date | null }[]>`
      SELECT run_id, valid_from, valid_to FROM account_versions WHERE account_id = ${accountId} ORDER BY valid_from`;
  }

  it("removes only closed versions older than the cutoff, oldest first, and keeps the runs the others name", async () => {
    const [r1, r2, r3, r4] = [
      await insertPastRun(prisma, { age: 40 }),
      await insertPastRun(prisma, { age: 30 }),
      await insertPastRun(prisma, { age: 20 }),
      await insertPastRun(prisma, { age: 5 }),
    ] as number[];
    const latest = await insertPastRun(prisma, { age: 1 });
    await insertVersion("a1", r1 as number, 40, 30);
    await insertVersion("a1", r2 as number, 30, 20);
    await insertVersion("a1", r3 as number, 20, 5);
    await insertVersion("a1", r4 as number, 5, null);
    // Current since long ago: kept, with its run.
    await insertVersion("a2", r1 as number, 40, null);
    const days: RetentionDays = { ...KEEP_ALL, account_versions: 7, sync_runs: 7 };

    const dry = await pruneNow(days, { dryRun: true });
    const result = await pruneNow(days);

    expect(result.removed).toEqual(dry.removed);
    expect(result.removed).toMatchObject({ account_versions: 2, sync_runs: 1 });
    expect(await runIds(prisma)).toEqual([r1, r3, r4, latest]);
    const history = await versionsOf("a1");
    expect(history.map((version) => version.run_id)).toEqual([r3, r4]);
    // No gap: each version starts where the one before it ended.
    expect(history[1]?.valid_from).toEqual(history[0]?.valid_to);
    expect((await versionsOf("a2")).map((version) => version.run_id)).toEqual([r1]);
  });

  it("keeps every version by default", async () => {
    const run = await insertPastRun(prisma, { age: 400 });
    await insertPastRun(prisma, { age: 1 });
    await insertVersion("a1", run, 400, 300);
    await insertVersion("a1", run, 300, null);
    expect((await pruneNow(DEFAULT_DAYS)).removed.account_versions).toBe(0);
    expect(await versionsOf("a1")).toHaveLength(2);
  });
});
