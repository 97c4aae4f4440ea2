// Infrastructure faults: PostgreSQL and Redis restarted in the middle of a run, under two real worker
// processes (the built CLI). The servers are private ones (test/faults/private-services.ts), never
// the machine's shared ones.
//
// What is proven:
// - PostgreSQL restarted (stopped with -m fast, down 1.5 s, started): open transactions roll back,
//   batch attempts that meet the outage fail and are retried; the run completes, exactly as without
//   the fault.
// - Redis restarted with its data (AOF, as in production): the workers reconnect; the run completes.
// - Redis restarted without its data (a Redis without persistence, or a replacement that comes up
//   empty): the run's jobs are gone, so it cannot complete. It stays open until its heartbeat is
//   stale (5 minutes: the test moves the heartbeat back instead of waiting), then the next fire closes
//   it as failed ("abandoned") and runs; that next run is correct. The workers register the lost
//   schedule again. Batches written before the loss stay written once; nothing is half-written.
// In every case the same two worker processes stay up throughout: no exit, no crash loop.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RUNS_QUEUE, SCHEDULER_ID } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliProcess, spawnCli, uniquePrefix, waitFor } from "../queue/helpers.js";
import {
  type PrivatePostgres,
  type PrivateRedis,
  startPrivatePostgres,
  startPrivateRedis,
} from "./private-services.js";
import {
  compareWithPlugchat,
  duplicateDriftRows,
  FAULT_TOKEN,
  type FaultResult,
  recordDatabase,
  recordOutput,
} from "./support.js";
import {
  closedRun,
  type DriftRow,
  driftDifferences,
  faultSeed,
  halfWritten,
  lastRunId,
  PlugchatChanges,
  query,
  runOpenedAfter,
  runProblems,
  seededRandom,
  tallied,
  WorkerFleet,
  writtenBatches,
} from "./worker-harness.js";

const ACCOUNTS = 24;
const BATCH_SIZE = 3;
const BATCHES = ACCOUNTS / BATCH_SIZE;
const WORKERS = 2;
/** Registered by the workers, never due during the test: there to be lost with Redis's data. */
const CRON = "0 0 1 1 *";
const CHANGED_PER_RUN = 8;

const seed = faultSeed();
const random = seededRandom(seed);
const prefix = uniquePrefix();

let postgres: PrivatePostgres;
let redisServer: PrivateRedis;
let databaseUrl: string;
let simulator: Simulator;
let fleet: WorkerFleet;
let changes: PlugchatChanges;
let redis: Redis;
let runsQueue: Queue;
let round = 0;
const commands: CliProcess[] = [];

function env(): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisServer.url,
    QUEUE_PREFIX: prefix,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: FAULT_TOKEN,
    SYNC_CRON: CRON,
    SYNC_BATCH_SIZE: String(BATCH_SIZE),
    SYNC_CONCURRENCY: "1",
    SYNC_MAX_ATTEMPTS: "3",
    LOG_LEVEL: "info",
    METRICS_PORT: "0",
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
    WORKER_SHUTDOWN_TIMEOUT_MS: "10000",
  };
}

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  const started = spawnCli(args, env());
  commands.push(started);
  const { code } = await started.exited;
  return { code, stdout: started.stdout(), output: started.stdout() + started.stderr() };
}

async function trigger(): Promise<void> {
  const { code, output } = await cli(["trigger"]);
  if (code !== 0) throw new Error(`plugchat-sync trigger exited ${code}: ${output}`);
}

/** Changes on Plugchat, then a run; returns the run's id and what it must record. */
async function startRound(): Promise<{ runId: number; drift: DriftRow[]; changedAccounts: number }> {
  round++;
  const planned = changes.apply(round, CHANGED_PER_RUN);
  const before = await lastRunId(databaseUrl);
  await trigger();
  return { runId: await runOpenedAfter(databaseUrl, before), ...planned };
}

/** Waits until the run is halfway: some batches written, some not. */
async function midRun(runId: number): Promise<void> {
  await waitFor(
    `run #${runId} halfway`,
    async () => {
      const written = await writtenBatches(databaseUrl, runId);
      if (written >= BATCHES) throw new Error(`run #${runId} finished before the fault could be injected`);
      return written >= 2;
    },
    30_000,
    25,
  );
}

/** A run without faults after the fault: it must be exactly right. */
async function cleanRound(): Promise<string[]> {
  const next = await startRound();
  await closedRun(databaseUrl, next.runId);
  return runProblems(databaseUrl, { ...next, accounts: ACCOUNTS, batches: BATCHES });
}

/** After a run: every account compared with Plugchat, counted in the scenario's tally. */
async function checkAccounts(tally: FaultResult): Promise<void> {
  const found = await compareWithPlugchat(databaseUrl, simulator.listIds(), (id) => simulator.getAccount(id));
  if (found.length > 0) process.stdout.write(`mismatches: ${JSON.stringify(found.slice(0, 5))}\n`);
  tally.runs++;
  tally.accountsChecked += ACCOUNTS;
  tally.mismatches += found.length;
}

async function batchesWrittenSince(runId: number, since: Date): Promise<number> {
  const [row] = await query<{ count: number }>(
    databaseUrl,
    "SELECT count(*)::int AS count FROM sync_run_batches WHERE run_id = $1 AND written_at > $2",
    [runId, since],
  );
  return row?.count ?? 0;
}

/** The same two processes, up, each started once: the faults made none of them exit. */
function expectNoCrash(): void {
  expect(fleet.crashed()).toEqual([]);
  expect(fleet.started).toHaveLength(WORKERS);
  expect(fleet.alive()).toHaveLength(WORKERS);
  for (const worker of fleet.started) {
    expect(worker.logs().filter((line) => line.msg === "worker ready")).toHaveLength(1);
    expect(worker.logs().filter((line) => line.level === "fatal")).toEqual([]);
  }
}

beforeAll(async () => {
  process.stdout.write(`infrastructure faults: FAULT_SEED=${seed}\n`);
  const started = Date.now();
  [postgres, redisServer, simulator] = await Promise.all([
    startPrivatePostgres(),
    startPrivateRedis(),
    startSimulator({ token: FAULT_TOKEN, accounts: ACCOUNTS }),
  ]);
  process.stdout.write(
    `infrastructure faults: private PostgreSQL and Redis up in ${Date.now() - started} ms\n`,
  );
  simulator.setFault({ type: "latency", ms: 150 });
  databaseUrl = postgres.url("plugchat_sync_faults");
  const migrated = await cli(["migrate"]);
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.output}`);
  await query(databaseUrl, "INSERT INTO accounts (id) SELECT unnest($1::text[])", [simulator.listIds()]);
  changes = new PlugchatChanges(simulator, random);
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  redis.on("error", () => undefined);
  runsQueue = new Queue(RUNS_QUEUE, { connection: redis, prefix });
  runsQueue.on("error", () => undefined);

  fleet = new WorkerFleet(env);
  for (let i = 0; i < WORKERS; i++) fleet.start();
  await Promise.all(fleet.started.map((worker) => fleet.ready(worker)));
  // The baseline run: every account's first fetch.
  const before = await lastRunId(databaseUrl);
  await trigger();
  const runId = await runOpenedAfter(databaseUrl, before);
  await closedRun(databaseUrl, runId);
  const problems = await runProblems(databaseUrl, {
    runId,
    accounts: ACCOUNTS,
    batches: BATCHES,
    changedAccounts: ACCOUNTS,
    drift: [],
  });
  if (problems.length > 0) throw new Error(`the baseline run went wrong: ${problems.join("; ")}`);
});

afterAll(async () => {
  await fleet?.stopAll(5_000);
  fleet?.record("infrastructure faults");
  for (const command of commands) {
    recordOutput(
      `infrastructure faults: ${command.child.spawnargs.slice(2).join(" ")}`,
      command.stdout() + command.stderr(),
    );
  }
  if (postgres && databaseUrl)
    await recordDatabase("infrastructure faults", databaseUrl).catch(() => undefined);
  if (postgres) recordOutput("infrastructure faults: PostgreSQL server log", postgres.log());
  if (redisServer) recordOutput("infrastructure faults: Redis server output", redisServer.log());
  await runsQueue?.close().catch(() => undefined);
  redis?.disconnect();
  await simulator?.close();
  await postgres?.stop();
  await redisServer?.stop();
});

/**
 * A run, with `restart` in its middle; then the checks of a run that must complete exactly: the run's
 * own problems, the accounts, one clean run after it, duplicate drift. Returns the problems found and
 * how many batches were written after the restart (proof that the run went on across it).
 */
async function restartMidRun(
  tally: FaultResult,
  restart: () => Promise<void>,
): Promise<{ problems: string[]; after: number }> {
  const faulty = await startRound();
  await midRun(faulty.runId);
  const restartedAt = new Date();
  await restart();
  tally.faultsInjected++;
  await closedRun(databaseUrl, faulty.runId, 90_000);

  const problems = await runProblems(databaseUrl, { ...faulty, accounts: ACCOUNTS, batches: BATCHES });
  const after = await batchesWrittenSince(faulty.runId, restartedAt);
  await checkAccounts(tally);
  problems.push(...(await cleanRound()));
  await checkAccounts(tally);
  tally.duplicateDriftRows = await duplicateDriftRows(databaseUrl);
  return { problems, after };
}

it("PostgreSQL restarted in the middle of a run: the run completes, exactly as without the fault", () =>
  tallied("PostgreSQL restarted mid-run", async (tally) => {
    const failedBefore = fleet.logged("sync batch attempt failed: retried with backoff").length;
    // Down for a while, so that batches meet it (their write, or the check before their fetch).
    const { problems, after } = await restartMidRun(tally, () => postgres.restart({ downMs: 1_500 }));
    const failedAttempts =
      fleet.logged("sync batch attempt failed: retried with backoff").length - failedBefore;
    process.stdout.write(
      `infrastructure faults: PostgreSQL restart: ${after} of ${BATCHES} batches written after it, ` +
        `${failedAttempts} batch attempts failed and were retried\n`,
    );

    expect(tally.mismatches).toBe(0);
    expect(tally.duplicateDriftRows).toBe(0);
    expect(problems).toEqual([]);
    // The run really went on across the restart, and batches met the outage and were retried.
    expect(after).toBeGreaterThan(0);
    expect(failedAttempts).toBeGreaterThan(0);
    expect(await halfWritten(databaseUrl)).toEqual([]);
    expectNoCrash();
  }));

it("Redis restarted in the middle of a run, with its data (AOF): the run completes", () =>
  tallied("Redis restarted mid-run (AOF)", async (tally) => {
    const problemsBefore = fleet.logged("Redis connection problem: retrying with backoff").length;
    const { problems, after } = await restartMidRun(tally, () => redisServer.restart({ downMs: 1_000 }));
    const connectionProblems =
      fleet.logged("Redis connection problem: retrying with backoff").length - problemsBefore;
    process.stdout.write(
      `infrastructure faults: Redis restart: ${after} of ${BATCHES} batches written after it, ` +
        `${connectionProblems} connection problems logged\n`,
    );

    expect(tally.mismatches).toBe(0);
    expect(tally.duplicateDriftRows).toBe(0);
    expect(problems).toEqual([]);
    expect(after).toBeGreaterThan(0);
    expect(connectionProblems).toBeGreaterThan(0);
    expect(await halfWritten(databaseUrl)).toEqual([]);
    // The schedule was kept with the data.
    expect(await runsQueue.getJobScheduler(SCHEDULER_ID)).toMatchObject({ pattern: CRON });
    expectNoCrash();
  }));

it("Redis restarted in the middle of a run, its data lost: the run fails cleanly once stale, the next run is correct", () =>
  tallied("Redis restarted mid-run, data lost", async (tally) => {
    const faulty = await startRound();
    await midRun(faulty.runId);
    await redisServer.restart({ loseData: true });
    tally.faultsInjected++;

    // The workers come back and register the lost schedule again.
    await waitFor(
      "the schedule registered again",
      () => runsQueue.getJobScheduler(SCHEDULER_ID),
      30_000,
      200,
    );
    // The run's jobs are gone: it stays open, its heartbeat no longer refreshed. Five minutes later the
    // next fire takes it for abandoned; the heartbeat is moved back instead of waiting them. (A batch
    // that was in flight may still write, refreshing it, and the fire is refused: then again.)
    const nextRunId = await waitFor(
      "a manual run after the abandoned one",
      async () => {
        await query(
          databaseUrl,
          "UPDATE sync_runs SET heartbeat_at = now() - interval '6 minutes' WHERE id = $1 AND status = 'running'",
          [faulty.runId],
        );
        const { code, stdout } = await cli(["trigger", "--wait", "--json"]);
        return code === 0 ? (JSON.parse(stdout) as { runId: number }).runId : undefined;
      },
      60_000,
      500,
    );
    const abandoned = await closedRun(databaseUrl, faulty.runId);
    const next = await closedRun(databaseUrl, nextRunId);
    tally.runs++; // the abandoned run; checkAccounts counts the next one

    const problems: string[] = [];
    if (abandoned.status !== "failed" || !abandoned.error?.startsWith("abandoned"))
      problems.push(`run #${abandoned.id} ended ${abandoned.status}: ${abandoned.error}`);
    if (next.status !== "succeeded" || next.accounts_total !== ACCOUNTS)
      problems.push(`run #${next.id} ended ${next.status} with ${next.accounts_total} accounts`);
    if ((await writtenBatches(databaseUrl, next.id)) !== BATCHES)
      problems.push(`run #${next.id} did not write all ${BATCHES} batches`);
    // Each change recorded once, by whichever of the two runs synced its account.
    problems.push(...(await driftDifferences(databaseUrl, [abandoned.id, next.id], faulty.drift)));
    const abandonedBatches = await writtenBatches(databaseUrl, abandoned.id);
    await checkAccounts(tally);
    problems.push(...(await cleanRound()));
    await checkAccounts(tally);
    tally.duplicateDriftRows = await duplicateDriftRows(databaseUrl);
    process.stdout.write(
      `infrastructure faults: Redis data lost: run #${abandoned.id} closed as ${abandoned.status} after ` +
        `${abandonedBatches} of ${BATCHES} batches (${abandoned.accounts_total} accounts); run #${next.id} ${next.status}\n`,
    );

    expect(tally.mismatches).toBe(0);
    expect(tally.duplicateDriftRows).toBe(0);
    expect(problems).toEqual([]);
    // The loss really cut the run: some batches written before it, not all.
    expect(abandonedBatches).toBeGreaterThan(0);
    expect(abandonedBatches).toBeLessThan(BATCHES);
    expect(await halfWritten(databaseUrl)).toEqual([]);
    expect(
      fleet.logged(
        "the sync schedule is missing after a Redis reconnection (Redis lost its data?): registering it again",
      ).length,
    ).toBeGreaterThan(0);
    expectNoCrash();
    // And the workers still stop cleanly.
    expect(await fleet.stopAll()).toEqual(Array(WORKERS).fill({ code: 0, signal: null }));
  }));
