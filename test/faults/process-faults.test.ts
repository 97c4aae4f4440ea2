// Process faults: real worker processes (the built CLI) SIGKILLed at random moments, run after run,
// each replaced at once; and workers stopped by SIGTERM in the middle of a batch, which they hand back
// to the queue for the other worker. On each queue backend (Redis, and PostgreSQL: the queues in the
// sync's own database). After every run: it succeeded, the database holds exactly what Plugchat
// holds, and each real change made on Plugchat before the run left exactly one drift row.
// FAULT_SEED=<n> replays a sequence of kills (their timing still depends on the machine).
import { setTimeout as sleep } from "node:timers/promises";
import type { Job, Queue } from "bullmq";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { QueueBackendName } from "../../src/config/index.js";
import type { QueueBackend, QueueBackendSettings } from "../../src/queue/backend/index.js";
import { BATCHES_QUEUE, RUNS_QUEUE } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliProcess, inheritedEnv, spawnCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  inspectionBackend,
  prepareQueues,
  storedQueueStrings,
  testQueueSettings,
} from "../queue/backends.js";
import { uniquePrefix, waitFor } from "../queue/helpers.js";
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
  workerEnv,
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
/** Workers stopped by SIGTERM in the middle of a batch, one per run (few: each run is a long one). */
const HANDBACKS = 2;

describeOnEachBackend("process faults", (kind: QueueBackendName) => {
  const seed = faultSeed();
  const random = seededRandom(seed);
  const prefix = uniquePrefix();

  let simulator: Simulator;
  let database: TestDatabase;
  let queues: QueueBackendSettings;
  let inspection: QueueBackend;
  let runsQueue: Queue;
  let batchesQueue: Queue;
  let fleet: WorkerFleet;
  let handbackFleet: WorkerFleet;
  /** Shared by the scenarios: each account's `active` flips once at most (see PlugchatChanges). */
  let changes: PlugchatChanges;
  const triggers: CliProcess[] = [];

  function env(): Record<string, string> {
    return workerEnv({
      databaseUrl: database.url,
      redisUrl: kind === "redis" ? (queues.redisUrl as string) : undefined,
      queuePrefix: prefix,
      plugchatUrl: simulator.url,
      cron: "off",
      batchSize: BATCH_SIZE,
      concurrency: 2,
    });
  }

  beforeAll(async () => {
    process.stdout.write(`process faults (${kind}): FAULT_SEED=${seed}\n`);
    simulator = await startSimulator({ token: FAULT_TOKEN, accounts: ACCOUNTS });
    // Each request takes a while, so that a run lasts long enough to be killed in the middle.
    simulator.setFault({ type: "latency", ms: 150 });
    database = await createMigratedTestDatabase();
    await query(database.url, "INSERT INTO accounts (id) SELECT unnest($1::text[])", [simulator.listIds()]);
    queues = testQueueSettings(kind, database.url, prefix);
    // What `migrate` does (on PostgreSQL: the queue schema in the sync's own database).
    await prepareQueues(queues);
    inspection = inspectionBackend(queues);
    runsQueue = inspection.queue(RUNS_QUEUE);
    batchesQueue = inspection.queue(BATCHES_QUEUE);
    changes = new PlugchatChanges(simulator, random);
    fleet = new WorkerFleet(env);
    handbackFleet = new WorkerFleet(env);
  });

  afterAll(async () => {
    await fleet?.stopAll(5_000);
    await handbackFleet?.stopAll(5_000);
    fleet?.record(`process faults (${kind})`);
    handbackFleet?.record(`process faults (${kind}), SIGTERM`);
    for (const trigger of triggers) {
      recordOutput(
        `process faults (${kind}): trigger ${trigger.child.pid}`,
        trigger.stdout() + trigger.stderr(),
      );
    }
    // What the queues hold (Redis keys, or the rows of the queue schema), for the token search.
    if (queues) {
      const stored = await storedQueueStrings(queues).catch(() => []);
      recordOutput(
        `process faults (${kind}): queue data`,
        stored.map((entry) => `${entry.where} ${entry.value}`).join("\n"),
      );
    }
    await runsQueue?.close();
    await batchesQueue?.close();
    await inspection?.close();
    if (queues) await deleteQueueData(queues);
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
    const started = spawnCli(["trigger"], inheritedEnv(env()));
    triggers.push(started);
    const { code } = await started.exited;
    if (code !== 0) throw new Error(`plugchat-sync trigger exited ${code}: ${started.stderr()}`);
  }

  /**
   * Waits for run `runId` to close, counts it in `tally`, and adds to `problems` what is wrong: an
   * account that differs from Plugchat's, or a run that did not write what `planned` says.
   */
  async function checkClosedRun(
    runId: number,
    planned: { drift: DriftRow[]; changedAccounts: number },
    timeoutMs: number,
    tally: FaultResult,
    problems: string[],
  ): Promise<void> {
    const run = await closedRun(database.url, runId, timeoutMs);
    const found = await compareWithPlugchat(database.url, simulator.listIds(), (id) =>
      simulator.getAccount(id),
    );
    tally.runs++;
    tally.accountsChecked += ACCOUNTS;
    tally.mismatches += found.length;
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

  it(`SIGKILL of worker processes at random moments: at least ${MIN_KILLS} kills over at least ${MIN_RUNS} runs`, () =>
    tallied(`worker SIGKILL at random moments (${kind})`, async (tally) => {
      for (let i = 0; i < WORKERS; i++) fleet.start();
      await Promise.all(fleet.started.map((worker) => fleet.ready(worker)));

      const killedDuring: Record<string, number> = {};
      const problems: string[] = [];
      let kills = 0;

      /** SIGKILL, then a replacement at once (ready before anything else happens). */
      async function kill(victim: CliProcess, moment: string): Promise<void> {
        await fleet.kill(victim);
        kills++;
        tally.faultsInjected = kills;
        killedDuring[moment] = (killedDuring[moment] ?? 0) + 1;
        await fleet.ready(fleet.start());
      }

      while (tally.runs < MIN_RUNS || (kills < MIN_KILLS && tally.runs < MAX_RUNS)) {
        // The first run sets the baseline (no drift); each later one follows fresh changes on Plugchat.
        const planned =
          tally.runs === 0
            ? { drift: [] as DriftRow[], changedAccounts: ACCOUNTS }
            : changes.apply(tally.runs, 10);
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

        await checkClosedRun(runId, planned, 90_000, tally, problems);
      }

      const duplicates = await duplicateDriftRows(database.url);
      problems.push(...(await halfWritten(database.url)));
      await recordDatabase(`process faults (${kind})`, database.url);
      tally.duplicateDriftRows = duplicates;
      const adopted = fleet.logged(
        "sync fire delivered again: continuing the run it opened before its worker stopped",
      ).length;
      const takenOver = fleet.logged(
        "batch job stalled (its worker stopped): it goes back to the queue",
      ).length;
      process.stdout.write(
        `process faults (${kind}): seed ${seed}, ${kills} kills over ${tally.runs} runs; killed while holding: ${JSON.stringify(killedDuring)}; ` +
          `batches taken over: ${takenOver}; fires continuing their run: ${adopted}\n`,
      );

      expect(tally.mismatches).toBe(0);
      expect(duplicates).toBe(0);
      expect(problems).toEqual([]);
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(tally.runs).toBeGreaterThanOrEqual(MIN_RUNS);
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

  it(`SIGTERM of a worker in the middle of a batch, past a short WORKER_SHUTDOWN_TIMEOUT_MS, while another runs: the batch is handed back and written once, by the other (${HANDBACKS} times)`, () =>
    tallied(`worker SIGTERM mid-batch, batch handed back (${kind})`, async (tally) => {
      // BullMQ's moveToWait + WaitingError is the path under test (on PostgreSQL, the similar
      // moveToDelayed + DelayedError has been reported to complete jobs without running them when two
      // processes share a queue, bullmq issue 4814). Slower requests until the stop, so that a batch
      // is still in flight when the 100 ms shutdown timeout passes.
      const survivor = handbackFleet.start();
      await handbackFleet.ready(survivor);
      const problems: string[] = [];
      const handedBackJobs: { runId: number; jobId: string; batchIndex: number }[] = [];
      const stops: { code: number | null; signal: NodeJS.Signals | null }[] = [];

      for (let round = 0; handedBackJobs.length < HANDBACKS && round < HANDBACKS * 2; round++) {
        const victim = handbackFleet.start({ WORKER_SHUTDOWN_TIMEOUT_MS: "100" });
        await handbackFleet.ready(victim);
        simulator.setFault({ type: "latency", ms: 250 });
        const planned = changes.apply(100 + round, 10);
        const before = await lastRunId(database.url);
        await trigger();
        const runId = await runOpenedAfter(database.url, before);
        // The moment the victim holds a batch, it is told to stop.
        const held = await waitFor(
          `a batch taken by worker ${victim.child.pid}`,
          async () => {
            const jobs = (await batchesQueue.getActive()).filter((job) =>
              job.processedBy?.endsWith(`:${victim.child.pid}`),
            );
            return jobs.length > 0 ? jobs : undefined;
          },
          30_000,
          10,
        );
        stops.push(await handbackFleet.stop(victim));
        tally.faultsInjected++;
        // The rest of the run, the survivor alone, at the usual pace.
        simulator.setFault({ type: "latency", ms: 150 });
        const handedBack = victim
          .logs()
          .filter(
            (line) => line.msg === "sync batch handed back to the queue: the worker is stopping",
          ).length;

        await checkClosedRun(runId, planned, 60_000, tally, problems);
        // A batch it handed back was written by the survivor (the victim wrote none after its stop).
        if (handedBack > 0) {
          for (const job of held) {
            const [row] = await query<{ written_by: string }>(
              database.url,
              "SELECT written_by FROM sync_run_batches WHERE run_id = $1 AND batch_index = $2",
              [runId, job.data.batchIndex],
            );
            if (row?.written_by.endsWith(`:${victim.child.pid}`)) continue; // it finished in time
            if (!row?.written_by.endsWith(`:${survivor.child.pid}`))
              problems.push(`run #${runId} batch ${job.data.batchIndex} written by ${row?.written_by}`);
            handedBackJobs.push({ runId, jobId: job.id as string, batchIndex: job.data.batchIndex });
          }
        }
      }

      // The handed-back jobs ran again and completed with a written batch (not completed unrun).
      for (const handed of handedBackJobs) {
        const job = await batchesQueue.getJob(handed.jobId);
        const state = await job?.getState();
        if (
          state !== "completed" ||
          (job?.returnvalue as { status?: string } | undefined)?.status !== "written"
        )
          problems.push(
            `run #${handed.runId} batch ${handed.batchIndex}: job ${state}, returned ${JSON.stringify(job?.returnvalue)}`,
          );
        if (!job?.processedBy?.endsWith(`:${survivor.child.pid}`))
          problems.push(
            `run #${handed.runId} batch ${handed.batchIndex} last processed by ${job?.processedBy}`,
          );
      }
      const duplicates = await duplicateDriftRows(database.url);
      problems.push(...(await halfWritten(database.url)));
      tally.duplicateDriftRows = duplicates;
      process.stdout.write(
        `process faults (${kind}): ${tally.faultsInjected} SIGTERMs mid-batch, ${handedBackJobs.length} batches handed back and written by the other worker\n`,
      );

      expect(tally.mismatches).toBe(0);
      expect(duplicates).toBe(0);
      expect(problems).toEqual([]);
      expect(handedBackJobs.length).toBeGreaterThanOrEqual(HANDBACKS);
      // Each victim stopped cleanly (exit 0) despite the batch it was holding; nothing crashed.
      expect(stops).toEqual(Array(stops.length).fill({ code: 0, signal: null }));
      expect(handbackFleet.crashed()).toEqual([]);
      expect(handbackFleet.alive()).toEqual([survivor]);
      const states = ["failed", "waiting", "active", "delayed", "waiting-children"] as const;
      expect(await batchesQueue.getJobCounts(...states)).toEqual(
        Object.fromEntries(states.map((state) => [state, 0])),
      );
      expect(await handbackFleet.stopAll()).toEqual([{ code: 0, signal: null }]);
    }));
});
