// Infrastructure faults: PostgreSQL and Redis restarted in the middle of a run, under two real worker
// processes (the built CLI). The servers are private ones (test/faults/private-services.ts), never
// the machine's shared ones. Each queue backend has its own servers and its own two workers.
//
// What is proven, on the Redis backend (the queues in Redis, the data in PostgreSQL):
// - PostgreSQL restarted (stopped with -m fast, down 1.5 s, started): open transactions roll back,
//   batch attempts that meet the outage fail and are retried; the run completes, exactly as without
//   the fault.
// - Redis restarted with its data (AOF, as in production): the workers reconnect; the run completes.
// - Redis restarted without its data (a Redis without persistence, or a replacement that comes up
//   empty): the run's jobs are gone, so it cannot complete. It stays open until its heartbeat is
//   stale (5 minutes: the test moves the heartbeat back instead of waiting), then the next fire closes
//   it as failed ("abandoned") and runs; that next run is correct. The workers register the lost
//   schedule again. Batches written before the loss stay written once; nothing is half-written.
// On the PostgreSQL backend (data and queues in the one PostgreSQL, as `migrate` made it):
// - PostgreSQL restarted: data and queues go down together. The run completes, or is closed failed
//   with its reason; either way the next run is correct and nothing is half-written.
// - The queue data lost (the queue tables emptied and every connection dropped, as a restore of the
//   database without its queue schema's rows): as with Redis's data lost, the run is closed failed
//   "abandoned" once stale, the next run is correct, the schedule is registered again.
// In every case the same two worker processes stay up throughout: no exit, no crash loop.
import type { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueBackendName } from "../../src/config/index.js";
import type { QueueBackend, QueueBackendSettings } from "../../src/queue/backend/index.js";
import { RUNS_QUEUE, SCHEDULER_ID } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliProcess, inheritedEnv, spawnCli } from "../helpers/cli.js";
import { inspectionBackend, loseQueueData, storedQueueStrings } from "../queue/backends.js";
import { uniquePrefix, waitFor } from "../queue/helpers.js";
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
  type RunRow,
  runOpenedAfter,
  runProblems,
  seededRandom,
  tallied,
  WorkerFleet,
  workerEnv,
  writtenBatches,
} from "./worker-harness.js";

const ACCOUNTS = 24;
const BATCH_SIZE = 3;
const BATCHES = ACCOUNTS / BATCH_SIZE;
const WORKERS = 2;
/** Registered by the workers, never due during the test: there to be lost with the queue data. */
const CRON = "0 0 1 1 *";
const CHANGED_PER_RUN = 8;
const SCHEDULE_RESTORED =
  "the sync schedule is missing after a queue backend problem (its data lost?): registering it again";

describe.each(["redis", "postgres"] as const satisfies readonly QueueBackendName[])(
  "infrastructure faults (%s queues)",
  (kind) => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    const prefix = uniquePrefix();
    const label = `infrastructure faults (${kind})`;

    let postgres: PrivatePostgres;
    /** Only on the Redis backend. */
    let redisServer: PrivateRedis | undefined;
    let databaseUrl: string;
    let simulator: Simulator;
    let fleet: WorkerFleet;
    let changes: PlugchatChanges;
    let queues: QueueBackendSettings;
    let inspection: QueueBackend;
    let runsQueue: Queue;
    let round = 0;
    const commands: CliProcess[] = [];

    function env(): Record<string, string> {
      return workerEnv({
        databaseUrl,
        redisUrl: redisServer?.url,
        queuePrefix: prefix,
        plugchatUrl: simulator.url,
        cron: CRON,
        batchSize: BATCH_SIZE,
        concurrency: 1,
      });
    }

    async function cli(args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
      const started = spawnCli(args, inheritedEnv(env()));
      commands.push(started);
      const { code } = await started.exited;
      return { code, stdout: started.stdout(), output: started.stdout() + started.stderr() };
    }

    async function trigger(): Promise<void> {
      const { code, output } = await cli(["trigger"]);
      if (code !== 0) throw new Error(`plugchat-sync trigger exited ${code}: ${output}`);
    }

    /** Changes on Plugchat (none with `changed: 0`), then a run; its id and what it must record. */
    async function startRound(
      changed = CHANGED_PER_RUN,
    ): Promise<{ runId: number; drift: DriftRow[]; changedAccounts: number }> {
      round++;
      const planned = changes.apply(round, changed);
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
          if (written >= BATCHES)
            throw new Error(`run #${runId} finished before the fault could be injected`);
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
      const found = await compareWithPlugchat(databaseUrl, simulator.listIds(), (id) =>
        simulator.getAccount(id),
      );
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

    /**
     * A run whose queue data was lost mid-run: its jobs gone, it stays open, its heartbeat no longer
     * refreshed. Five minutes later the next fire takes it for abandoned; the heartbeat is moved back
     * instead of waiting them. (A batch that was in flight may still write, refreshing it, and the fire
     * is refused: then again.) Returns the abandoned run and the next one, both closed.
     */
    async function afterAbandoned(runId: number): Promise<{ abandoned: RunRow; next: RunRow }> {
      const nextRunId = await waitFor(
        "a manual run after the abandoned one",
        async () => {
          await query(
            databaseUrl,
            "UPDATE sync_runs SET heartbeat_at = now() - interval '6 minutes' WHERE id = $1 AND status = 'running'",
            [runId],
          );
          const { code, stdout } = await cli(["trigger", "--wait", "--json"]);
          return code === 0 ? (JSON.parse(stdout) as { runId: number }).runId : undefined;
        },
        60_000,
        500,
      );
      return {
        abandoned: await closedRun(databaseUrl, runId),
        next: await closedRun(databaseUrl, nextRunId),
      };
    }

    /** For a run that never closes: each worker's last log lines, and its jobs by state (PostgreSQL). */
    async function stuckRunReport(): Promise<string> {
      const lines = fleet.started.map(
        (worker) =>
          `${label}: worker ${worker.child.pid}, last log lines:\n${worker.stderr().split("\n").slice(-25).join("\n")}`,
      );
      if (kind === "postgres") {
        const jobs = await query(
          databaseUrl,
          "SELECT queue, name, state, count(*)::int AS jobs, max(stalled_count) AS stalled FROM bullmq.job GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        ).catch((error: unknown) => [String(error)]);
        lines.push(`${label}: queue jobs by state: ${JSON.stringify(jobs)}`);
      }
      return `${lines.join("\n")}\n`;
    }

    beforeAll(async () => {
      process.stdout.write(`${label}: FAULT_SEED=${seed}\n`);
      const started = Date.now();
      [postgres, redisServer, simulator] = await Promise.all([
        startPrivatePostgres(),
        kind === "redis" ? startPrivateRedis() : undefined,
        startSimulator({ token: FAULT_TOKEN, accounts: ACCOUNTS }),
      ]);
      process.stdout.write(
        `${label}: private PostgreSQL${redisServer ? " and Redis" : ""} up in ${Date.now() - started} ms\n`,
      );
      simulator.setFault({ type: "latency", ms: 150 });
      databaseUrl = postgres.url("plugchat_sync_faults");
      // On PostgreSQL, `migrate` also creates the queue schema.
      const migrated = await cli(["migrate"]);
      if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.output}`);
      await query(databaseUrl, "INSERT INTO accounts (id) SELECT unnest($1::text[])", [simulator.listIds()]);
      changes = new PlugchatChanges(simulator, random);
      queues = { kind, prefix, redisUrl: redisServer?.url, databaseUrl, queueSchema: "bullmq" };
      inspection = inspectionBackend(queues);
      runsQueue = inspection.queue(RUNS_QUEUE);

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
      fleet?.record(label);
      for (const command of commands) {
        recordOutput(
          `${label}: ${command.child.spawnargs.slice(2).join(" ")}`,
          command.stdout() + command.stderr(),
        );
      }
      if (postgres && databaseUrl) await recordDatabase(label, databaseUrl).catch(() => undefined);
      // What the queues hold (Redis keys, or the rows of the queue schema), for the token search.
      if (queues) {
        const stored = await storedQueueStrings(queues).catch(() => []);
        recordOutput(
          `${label}: queue data`,
          stored.map((entry) => `${entry.where} ${entry.value}`).join("\n"),
        );
      }
      if (postgres) recordOutput(`${label}: PostgreSQL server log`, postgres.log());
      if (redisServer) recordOutput(`${label}: Redis server output`, redisServer.log());
      await runsQueue?.close().catch(() => undefined);
      await inspection?.close();
      await simulator?.close();
      await postgres?.stop();
      await redisServer?.stop();
    });

    /**
     * A run, with `restart` in its middle; then the checks: the run's own problems, the accounts, one
     * clean run after it, duplicate drift. A run that must complete (`mayFail` false) is checked
     * exactly; one that may be closed failed instead must say why, and a run with no new changes
     * after it must then record each change the failed run left out, once. Returns the problems found,
     * the faulty run as closed, and how many of its batches were written after the restart.
     */
    async function restartMidRun(
      tally: FaultResult,
      restart: () => Promise<void>,
      mayFail: boolean,
    ): Promise<{ problems: string[]; run: RunRow; after: number }> {
      const faulty = await startRound();
      await midRun(faulty.runId);
      const restartedAt = new Date();
      await restart();
      tally.faultsInjected++;
      const run = await closedRun(databaseUrl, faulty.runId, 90_000).catch(async (error: unknown) => {
        process.stdout.write(await stuckRunReport());
        throw error;
      });
      const after = await batchesWrittenSince(faulty.runId, restartedAt);
      const problems: string[] = [];
      if (run.status === "failed" && mayFail) {
        if (!run.error) problems.push(`run #${run.id} failed without a reason`);
        tally.runs++; // the failed run; checkAccounts counts the one that catches up
        const catchUp = await startRound(0);
        const next = await closedRun(databaseUrl, catchUp.runId);
        if (next.status !== "succeeded" || next.accounts_total !== ACCOUNTS)
          problems.push(`run #${next.id} ended ${next.status} with ${next.accounts_total} accounts`);
        if ((await writtenBatches(databaseUrl, next.id)) !== BATCHES)
          problems.push(`run #${next.id} did not write all ${BATCHES} batches`);
        problems.push(...(await driftDifferences(databaseUrl, [run.id, next.id], faulty.drift)));
      } else {
        problems.push(
          ...(await runProblems(databaseUrl, { ...faulty, accounts: ACCOUNTS, batches: BATCHES })),
        );
      }
      await checkAccounts(tally);
      problems.push(...(await cleanRound()));
      await checkAccounts(tally);
      tally.duplicateDriftRows = await duplicateDriftRows(databaseUrl);
      return { problems, run, after };
    }

    it(
      kind === "redis"
        ? "PostgreSQL restarted in the middle of a run: the run completes, exactly as without the fault"
        : "PostgreSQL (data and queues) restarted in the middle of a run: the run completes or is closed failed with its reason, the next run is correct",
      () =>
        tallied(`PostgreSQL restarted mid-run (${kind})`, async (tally) => {
          const failedBefore = fleet.logged("sync batch attempt failed: retried with backoff").length;
          // Down for a while, so that batches meet it (their write, or the check before their fetch).
          const { problems, run, after } = await restartMidRun(
            tally,
            () => postgres.restart({ downMs: 1_500 }),
            kind === "postgres",
          );
          const failedAttempts =
            fleet.logged("sync batch attempt failed: retried with backoff").length - failedBefore;
          process.stdout.write(
            `${label}: PostgreSQL restart: run #${run.id} ${run.status}${run.error ? ` (${run.error})` : ""}, ` +
              `${after} of ${BATCHES} batches written after it, ${failedAttempts} batch attempts failed and were retried\n`,
          );

          expect(tally.mismatches).toBe(0);
          expect(tally.duplicateDriftRows).toBe(0);
          expect(problems).toEqual([]);
          if (kind === "redis") {
            // The run really went on across the restart, and batches met the outage and were retried.
            expect(run.status).toBe("succeeded");
            expect(after).toBeGreaterThan(0);
            expect(failedAttempts).toBeGreaterThan(0);
          }
          expect(await halfWritten(databaseUrl)).toEqual([]);
          expectNoCrash();
        }),
    );

    if (kind === "redis") {
      it("Redis restarted in the middle of a run, with its data (AOF): the run completes", () =>
        tallied("Redis restarted mid-run, AOF (redis)", async (tally) => {
          const server = redisServer as PrivateRedis;
          const problemsBefore = fleet.logged("Redis connection problem: retrying with backoff").length;
          const { problems, run, after } = await restartMidRun(
            tally,
            () => server.restart({ downMs: 1_000 }),
            false,
          );
          const connectionProblems =
            fleet.logged("Redis connection problem: retrying with backoff").length - problemsBefore;
          process.stdout.write(
            `${label}: Redis restart: ${after} of ${BATCHES} batches written after it, ` +
              `${connectionProblems} connection problems logged\n`,
          );

          expect(tally.mismatches).toBe(0);
          expect(tally.duplicateDriftRows).toBe(0);
          expect(problems).toEqual([]);
          expect(run.status).toBe("succeeded");
          expect(after).toBeGreaterThan(0);
          expect(connectionProblems).toBeGreaterThan(0);
          expect(await halfWritten(databaseUrl)).toEqual([]);
          // The schedule was kept with the data.
          expect(await runsQueue.getJobScheduler(SCHEDULER_ID)).toMatchObject({ pattern: CRON });
          expectNoCrash();
        }));
    }

    it(
      kind === "redis"
        ? "Redis restarted in the middle of a run, its data lost: the run fails cleanly once stale, the next run is correct"
        : "the queue data lost in the middle of a run (queue tables emptied, connections dropped): the run fails cleanly once stale, the next run is correct",
      () =>
        tallied(
          kind === "redis"
            ? "Redis restarted mid-run, data lost (redis)"
            : "queue data lost mid-run (postgres)",
          async (tally) => {
            const faulty = await startRound();
            await midRun(faulty.runId);
            if (redisServer) await redisServer.restart({ loseData: true });
            else await loseQueueData(queues);
            tally.faultsInjected++;

            // The workers come back and register the lost schedule again.
            await waitFor(
              "the schedule registered again",
              () => runsQueue.getJobScheduler(SCHEDULER_ID),
              30_000,
              200,
            );
            const { abandoned, next } = await afterAbandoned(faulty.runId);
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
              `${label}: queue data lost: run #${abandoned.id} closed as ${abandoned.status} after ` +
                `${abandonedBatches} of ${BATCHES} batches (${abandoned.accounts_total} accounts); run #${next.id} ${next.status}\n`,
            );

            expect(tally.mismatches).toBe(0);
            expect(tally.duplicateDriftRows).toBe(0);
            expect(problems).toEqual([]);
            // The loss really cut the run: some batches written before it, not all.
            expect(abandonedBatches).toBeGreaterThan(0);
            expect(abandonedBatches).toBeLessThan(BATCHES);
            expect(await halfWritten(databaseUrl)).toEqual([]);
            expect(fleet.logged(SCHEDULE_RESTORED).length).toBeGreaterThan(0);
            expectNoCrash();
            // And the workers still stop cleanly.
            expect(await fleet.stopAll()).toEqual(Array(WORKERS).fill({ code: 0, signal: null }));
          },
        ),
    );
  },
);
