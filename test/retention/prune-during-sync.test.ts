// Pruning while a run is going: a real sync against the simulator, with passes looping beside it that
// count every row as old (their clock a month ahead), so only the protection of the running and
// latest runs keeps the run's own rows. The run must end as if nothing pruned beside it.
import { expect, it } from "vitest";
import { runningRun } from "../../src/db/sql/runs.js";
import { prune, type RetentionDays } from "../../src/retention/prune.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";
import { driftOfRun, syncWithSimulator } from "../helpers/simulator-sync.js";
import { daysAgo, insertPastRun, insertSpan, runIds } from "./history.js";

const TOKEN = "retention-during-sync-token";
const ACCOUNTS = 1_500;
const BATCH_SIZE = 25;
const ONE_DAY: RetentionDays = {
  sync_run_batches: 1,
  sync_runs: 1,
  account_drift: 1,
  account_mismatch_spans: 1,
  account_versions: 1,
};

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

it("prunes old history in a loop during a sync: the sync completes with its drift and batches whole, and nothing due is left", async () => {
  const { prisma, simulator } = setup;
  const ids = simulator.listIds();
  const first = await syncWithSimulator({ prisma, simulator, token: TOKEN }, { batchSize: BATCH_SIZE });
  expect(first.status).toBe("succeeded");
  // Old history to prune: runs of the last weeks with drift, batch rows and closed mismatch spans.
  for (let age = 40; age > 10; age -= 2) {
    const run = await insertPastRun(prisma, { age, batches: 10, drift: ids.slice(age * 20, age * 20 + 60) });
    await insertSpan(prisma, { accountId: ids[age] as string, beganBy: run, endedBy: run, beganAge: age });
  }
  const changed = ids.filter((_, index) => index % 7 === 0);
  for (const id of changed) simulator.setAccount(id, { name: `renamed ${id}` });

  const future = daysAgo(-30);
  let syncing = true;
  let passesWhileRunning = 0;
  const pruning = (async () => {
    while (syncing) {
      const running = (await runningRun(prisma)) !== null;
      await prune(prisma, { days: ONE_DAY, now: future, chunkSize: 20, pauseMs: 0 });
      if (running) passesWhileRunning++;
    }
  })();
  const run = await syncWithSimulator({ prisma, simulator, token: TOKEN }, { batchSize: BATCH_SIZE }).finally(
    () => {
      syncing = false;
    },
  );
  await pruning;

  expect(run).toMatchObject({
    status: "succeeded",
    accountsTotal: ACCOUNTS,
    accountsChanged: changed.length,
  });
  expect(passesWhileRunning).toBeGreaterThan(0);
  const drift = await driftOfRun(prisma, run.runId);
  expect(drift).toHaveLength(run.driftCount);
  expect(drift.map((row) => row.accountId).sort()).toEqual([...changed].sort());
  const batches = await prisma.syncRunBatch.findMany({ where: { runId: run.runId } });
  expect(batches).toHaveLength(ACCOUNTS / BATCH_SIZE);
  expect(batches.reduce((sum, batch) => sum + batch.accounts, 0)).toBe(ACCOUNTS);

  // Once more after the run: nothing due is left, and the latest run keeps all it wrote.
  const left = await prune(prisma, { days: ONE_DAY, now: future, dryRun: true });
  expect(left.removed).toEqual({
    sync_run_batches: 0,
    account_drift: 0,
    account_mismatch_spans: 0,
    account_versions: 0,
    sync_runs: 0,
  });
  // The first run stays: it opened the versions, still current, of the accounts that did not change.
  expect(await runIds(prisma)).toEqual([first.runId, run.runId]);
  const firstRunVersions = await prisma.$queryRaw<{ current: number; closed: number }[]>`
    SELECT count(*) FILTER (WHERE valid_to IS NULL)::int AS current,
           count(*) FILTER (WHERE valid_to IS NOT NULL)::int AS closed
      FROM account_versions WHERE run_id = ${first.runId}`;
  // Its versions of the changed accounts, closed by the second run, were due and went.
  expect(firstRunVersions).toEqual([{ current: ACCOUNTS - changed.length, closed: 0 }]);
  expect(await prisma.accountDrift.count()).toBe(run.driftCount);
  expect(await prisma.accountMismatchSpan.count()).toBe(0);
  expect(first.runId).toBeLessThan(run.runId);
});
