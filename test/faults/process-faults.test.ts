// Process faults: real worker processes (the built CLI) SIGKILLed at random moments, run after run,
// each replaced at once. After every run: it succeeded, the database holds exactly what Plugchat
// holds, and each real change made on Plugchat before the run left exactly one drift row.
// FAULT_SEED=<n> replays a sequence of kills (their timing still depends on the machine).
import { setTimeout as sleep } from "node:timers/promises";
import { type Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BATCHES_QUEUE, RUNS_QUEUE } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { type CliProcess, deleteKeys, REDIS_URL, spawnCli, uniquePrefix, waitFor } from "../queue/helpers.js";
import {
  compareWithPlugchat,
  duplicateDriftRows,
  FAULT_TOKEN,
  recordDatabase,
  recordOutput,
} from "./support.js";
import {
  closedRun,
  type DriftRow,
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
} from "./worker-harness.js";

const ACCOUNTS = 48;
const BATCH_SIZE = 4;
const BATCHES = ACCOUNTS / BATCH_SIZE;
/** Two workers share each run; one of them is killed at a time, and replaced at once. */
const WORKERS = 2;
const MIN_RUNS = 4;
const MAX_RUNS = 8;
const MIN_KILLS = 12;
const KILLS_PER_RUN = 3;
/** BullMQ fails a job that stalls more than 3 times (maxStalledCount): a poison batch must not loop. */
const STALL_BUDGET = 3;

const seed = faultSeed();
const random = seededRandom(seed);
const prefix = uniquePrefix();

let simulator: Simulator;
let database: TestDatabase;
let redis: Redis;
let runsQueue: Queue;
let batchesQueue: Queue;
let fleet: WorkerFleet;
const triggers: CliProcess[] = [];

function env(): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: FAULT_TOKEN,
    SYNC_CRON: "off",
    SYNC_BATCH_SIZE: String(BATCH_SIZE),
    SYNC_CONCURRENCY: "2",
    SYNC_MAX_ATTEMPTS: "3",
    LOG_LEVEL: "info",
    METRICS_PORT: "0",
    // A killed worker's batch goes to another after about 2 s (lock) + 2 × 1 s (stalled checks).
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
    WORKER_SHUTDOWN_TIMEOUT_MS: "10000",
  };
}

beforeAll(async () => {
  process.stdout.write(`process faults: FAULT_SEED=${seed}\n`);
  simulator = await startSimulator({ token: FAULT_TOKEN, accounts: ACCOUNTS });
  // Each request takes a while, so that a run lasts long enough to be killed in the middle.
  simulator.setFault({ type: "latency", ms: 150 });
  database = await createMigratedTestDatabase();
  await query(database.url, "INSERT INTO accounts (id) SELECT unnest($1::text[])", [simulator.listIds()]);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  runsQueue = new Queue(RUNS_QUEUE, { connection: redis, prefix });
  batchesQueue = new Queue(BATCHES_QUEUE, { connection: redis, prefix });
  fleet = new WorkerFleet(env);
});

afterAll(async () => {
  await fleet?.stopAll(5_000);
  fleet?.record("process faults");
  for (const trigger of triggers) {
    recordOutput(`process faults: trigger ${trigger.child.pid}`, trigger.stdout() + trigger.stderr());
  }
  await runsQueue?.close();
  await batchesQueue?.close();
  redis?.disconnect();
  await deleteKeys(REDIS_URL, prefix);
  await database?.drop();
  await simulator?.close();
});

/** What the worker was doing when it was killed, from the jobs it held. */
async function activeJobsOf(worker: CliProcess): Promise<Job[]> {
  const jobs = [...(await runsQueue.getActive()), ...(await batchesQueue.getActive())];
  return jobs.filter((job) => job.processedBy?.endsWith(`:${worker.child.pid}`));
}

/** The live workers holding a job, as soon as there is one (none after `timeoutMs`). */
async function busyWorkers(timeoutMs: number): Promise<CliProcess[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy: CliProcess[] = [];
    for (const worker of fleet.alive()) if ((await activeJobsOf(worker)).length > 0) busy.push(worker);
    if (busy.length > 0 || Date.now() > deadline) return busy;
    await sleep(20);
  }
}

/** The worker holding the first active runs-queue job of that name, polled closely; undefined if `over`. */
async function holderOf(
  name: string,
  over: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<CliProcess | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(await over())) {
    const job = (await runsQueue.getActive()).find((active) => active.name === name);
    const holder = fleet.alive().find((worker) => job?.processedBy?.endsWith(`:${worker.child.pid}`));
    if (holder) return holder;
    await sleep(2);
  }
  return undefined;
}

async function trigger(): Promise<void> {
  const started = spawnCli(["trigger"], env());
  triggers.push(started);
  const { code } = await started.exited;
  if (code !== 0) throw new Error(`plugchat-sync trigger exited ${code}: ${started.stderr()}`);
}

it(`SIGKILL of worker processes at random moments: at least ${MIN_KILLS} kills over at least ${MIN_RUNS} runs`, () =>
  tallied("worker SIGKILL at random moments", async (tally) => {
    for (let i = 0; i < WORKERS; i++) fleet.start();
    await Promise.all(fleet.started.map((worker) => fleet.ready(worker)));

    const changes = new PlugchatChanges(simulator, random);
    const ids = simulator.listIds();
    const killedDuring: Record<string, number> = {};
    const problems: string[] = [];
    let kills = 0;
    let runs = 0;
    let mismatches = 0;

    /** SIGKILL, then a replacement at once (ready before anything else happens). */
    async function kill(victim: CliProcess, moment: string): Promise<void> {
      await fleet.kill(victim);
      kills++;
      tally.faultsInjected = kills;
      killedDuring[moment] = (killedDuring[moment] ?? 0) + 1;
      await fleet.ready(fleet.start());
    }

    while (runs < MIN_RUNS || (kills < MIN_KILLS && runs < MAX_RUNS)) {
      // The first run sets the baseline (no drift); each later one follows fresh changes on Plugchat.
      const planned =
        runs === 0 ? { drift: [] as DriftRow[], changedAccounts: ACCOUNTS } : changes.apply(runs, 10);
      const before = await lastRunId(database.url);
      // Now and then the first kill goes for the worker that takes the fire (while it opens the run and
      // queues its batches) and the last one for the worker closing the run; the others come at random
      // times. A hunt that comes too late (the job already done) falls back to a random time.
      const huntFire = random.next() < 0.4;
      const huntFinish = random.next() < 0.4;
      const triggered = trigger();
      const fireHolder = huntFire ? await holderOf("fire", () => false, 5_000) : undefined;
      if (fireHolder) await kill(fireHolder, "fire");
      await triggered;
      const runId = await runOpenedAfter(database.url, before);
      const running = async () =>
        (await query(database.url, "SELECT 1 FROM sync_runs WHERE id = $1 AND status = 'running'", [runId]))
          .length > 0;

      for (let killed = fireHolder ? 1 : 0; killed < KILLS_PER_RUN; killed++) {
        let victim: CliProcess | undefined;
        if (killed === KILLS_PER_RUN - 1 && huntFinish) {
          victim = await holderOf("finish", async () => !(await running()), 60_000);
        } else {
          // A random moment: mid-batch, between batches, while a replacement starts, while closing.
          await sleep(random.int(0, 1_500));
          if (!(await running())) break;
          // A worker holding a job (waited for a little, e.g. while batches wait for a killed
          // worker's lock to expire): a kill of an idle worker tests little.
          const busy = await busyWorkers(3_000);
          victim = random.pick(busy.length > 0 ? busy : fleet.alive());
        }
        if (!victim) break;
        const held = await activeJobsOf(victim);
        // Within BullMQ's budget of stalls per job: past it, the job fails for good (by design).
        if (held.some((job) => job.stalledCounter >= STALL_BUDGET - 1)) continue;
        await kill(victim, held.length === 0 ? "idle" : held.map((job) => job.name).join("+"));
      }

      const run = await closedRun(database.url, runId, 90_000);
      runs++;
      const found = await compareWithPlugchat(database.url, ids, (id) => simulator.getAccount(id));
      mismatches += found.length;
      Object.assign(tally, { runs, accountsChecked: runs * ACCOUNTS, mismatches });
      problems.push(
        ...found.map((mismatch) => `run #${run.id}: ${JSON.stringify(mismatch)}`),
        ...(await runProblems(database.url, {
          runId,
          accounts: ACCOUNTS,
          batches: BATCHES,
          changedAccounts: planned.changedAccounts,
          drift: planned.drift,
        })),
      );
    }

    const duplicates = await duplicateDriftRows(database.url);
    problems.push(...(await halfWritten(database.url)));
    await recordDatabase("process faults", database.url);
    tally.duplicateDriftRows = duplicates;
    const adopted = fleet.logged(
      "sync fire delivered again: continuing the run it opened before its worker stopped",
    ).length;
    const takenOver = fleet.logged(
      "batch job stalled (its worker stopped): it goes back to the queue",
    ).length;
    process.stdout.write(
      `process faults: seed ${seed}, ${kills} kills over ${runs} runs; killed while holding: ${JSON.stringify(killedDuring)}; ` +
        `batches taken over: ${takenOver}; fires continuing their run: ${adopted}\n`,
    );

    expect(mismatches).toBe(0);
    expect(duplicates).toBe(0);
    expect(problems).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(runs).toBeGreaterThanOrEqual(MIN_RUNS);
    // Most kills hit a worker in the middle of a job, or the test proves little.
    expect(kills - (killedDuring.idle ?? 0)).toBeGreaterThanOrEqual(kills / 2);

    // No crash loop: every replacement started and stayed up; the only exits were the kills.
    expect(fleet.crashed()).toEqual([]);
    expect(fleet.started).toHaveLength(WORKERS + kills);
    expect(fleet.alive()).toHaveLength(WORKERS);
    // Nothing left behind in the queues: no job failed for good; a job whose worker was killed after
    // its work was done (a finish after the run's close) is taken over and completes.
    const states = ["failed", "waiting", "active", "delayed", "waiting-children"] as const;
    const leftover = async () => {
      const counts = [await runsQueue.getJobCounts(...states), await batchesQueue.getJobCounts(...states)];
      return states.flatMap((state) => counts.map((count) => count[state] ?? 0)).reduce((a, b) => a + b, 0);
    };
    await waitFor("the queues drained", async () => (await leftover()) === 0, 20_000, 200).catch(
      () => undefined,
    );
    expect(await runsQueue.getJobCounts(...states)).toEqual(
      Object.fromEntries(states.map((state) => [state, 0])),
    );
    expect(await batchesQueue.getJobCounts(...states)).toEqual(
      Object.fromEntries(states.map((state) => [state, 0])),
    );
    // And the survivors still stop cleanly.
    expect(await fleet.stopAll()).toEqual(Array(WORKERS).fill({ code: 0, signal: null }));
  }));
