// The long-running worker: registers the schedule, turns each fire into a run split in batch jobs
// (a BullMQ flow: one "finish" parent, one "batch" child per batch of account ids), and runs whatever
// jobs come, alongside any number of other worker processes sharing the same queues and database.
// The queues live wherever the backend it is given keeps them (Redis or PostgreSQL); nothing here
// depends on which.
//
// Exactly once, whatever dies when:
// - a run is opened by one fire only: the database allows one running run (others are skipped);
// - a batch writes once: its sync_run_batches row is written in its own transaction and checked first;
// - a run is closed once: finishRun only closes a running run and tells whether this call closed it;
// - a batch that fails for good (ignoreDependencyOnFailure) still lets the parent close the run.
//
// This module wires the parts: processors/ (fire, finish, batch), run-keeper.ts (heartbeat and
// schedule upkeep), and the start-up and shutdown below.
import { type Job, UnrecoverableError } from "bullmq";
import { sleep } from "../lib/sleep.js";
import { settlesWithin } from "../lib/timeout.js";
import { throttledLog } from "../observability/throttled-log.js";
import { PROCESS_NAME } from "../sync/batch.js";
import { DEFAULT_STALE_RUN_AFTER_MS } from "../sync/run-lifecycle.js";
import { SharedFetchLimit } from "../sync/shared-fetch-limit.js";
import type { RunSummary, SyncDependencies } from "../sync/types.js";
import type { QueueBackend } from "./backend/index.js";
import { QueueSchemaError } from "./backend/index.js";
import {
  BATCHES_QUEUE,
  type BatchJobData,
  DEFAULT_RETRY_OPTIONS,
  FINISH_JOB,
  FIRE_JOB,
  type FinishJobData,
  type FinishResult,
  type FireJobData,
  type FireResult,
  type RetryOptions,
  RUNS_QUEUE,
  SCHEDULER_ID,
} from "./jobs.js";
import { createBatchProcessor } from "./processors/batch.js";
import { oneLine, type ProcessorContext, type WorkerMetrics } from "./processors/context.js";
import { createFinishProcessor } from "./processors/finish.js";
import { createFireProcessor } from "./processors/fire.js";
import { startRunKeeper } from "./run-keeper.js";
import { registerSchedule } from "./scheduler.js";

export type { WorkerMetrics } from "./processors/context.js";

export interface SyncWorkerOptions {
  /** Where the queues live. The worker owns it from now on: `close` closes it. */
  backend: QueueBackend;
  /** SYNC_CRON (5 or 6 fields, or "off") and SYNC_TIMEZONE. */
  cron: string;
  timezone: string;
  /** Accounts per batch job (SYNC_BATCH_SIZE). */
  batchSize: number;
  /** Plugchat requests in flight per batch job being run (SYNC_CONCURRENCY). */
  concurrency: number;
  /**
   * Batch jobs this process runs at once (WORKER_CONCURRENCY), so `concurrency` times this many
   * requests in flight. One more job is taken to fill their tails (see the batches worker). Default 1.
   */
  workerConcurrency?: number;
  /** How long `close` lets in-flight batches finish before handing them back. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Lock of an active job; a killed worker's batch goes to another after it. Default 30 s. */
  lockDurationMs?: number;
  /** How often stalled jobs (of dead workers) are looked for. Default 30 s. */
  stalledIntervalMs?: number;
  /** How many times a job may stall (its worker die) before it fails. Default 3. */
  maxStalledCount?: number;
  /** A running run whose heartbeat is older than this was abandoned. Default 5 min. */
  staleRunAfterMs?: number;
  /** How often the worker refreshes the heartbeat of a run the queue is still working on. Default 30 s. */
  heartbeatEveryMs?: number;
  /** Attempts and backoff of jobs. Default: 8 batch attempts, 5 s doubling. */
  retry?: Partial<RetryOptions>;
  /** This worker's name, stored on the jobs it processes. Default host:pid. */
  name?: string;
  metrics?: WorkerMetrics;
  /** Called once per run, after the run is closed (e.g. to send a notification); its errors are logged. */
  onRunFinished?: (summary: RunSummary) => Promise<void> | void;
}

export interface SyncWorker {
  readonly name: string;
  /**
   * Settles once the schedule is registered and both workers take jobs. Rejects, and the worker takes
   * no job, when the backend can never work as configured (a QueueSchemaError: run `migrate`).
   */
  readonly ready: Promise<void>;
  /**
   * Stops gracefully: takes no new job, lets in-flight jobs finish within the shutdown timeout, then
   * hands the rest back to the queue (they run again elsewhere, no attempt spent), and closes the
   * backend. The Prisma client and the Plugchat client are the caller's.
   */
  close(): Promise<void>;
  /** For health endpoints: resolve when the dependency answers, reject otherwise. */
  readonly checks: { postgres(): Promise<void>; queue(): Promise<void> };
  /** Batch jobs not finished yet (waiting, delayed, active). */
  queueDepth(): Promise<number>;
  /** Jobs of both queues by state (waiting, active, delayed...), e.g. for a queue-depth gauge. */
  jobCounts(): Promise<Record<string, number>>;
}

export function startWorker(dependencies: SyncDependencies, options: SyncWorkerOptions): SyncWorker {
  const { prisma } = dependencies;
  const { backend } = options;
  const name = options.name ?? PROCESS_NAME;
  const logger = dependencies.logger.child({ worker: name });
  const retry: RetryOptions = { ...DEFAULT_RETRY_OPTIONS, ...options.retry };
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
  const stopping = new AbortController();

  const runsQueue = backend.queue<FireJobData | FinishJobData>(RUNS_QUEUE);
  const batchesQueue = backend.queue<BatchJobData>(BATCHES_QUEUE);
  const flows = backend.flowProducer();
  const context: ProcessorContext = {
    deps: { ...dependencies, logger },
    logger,
    runsQueue,
    flows,
    queueName: (base) => backend.queueName(base),
    retry,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    staleRunAfterMs: options.staleRunAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS,
    metrics: options.metrics ?? {},
    onRunFinished: options.onRunFinished,
  };
  const fire = createFireProcessor(context);
  const finish = createFinishProcessor(context);
  const workerConcurrency = options.workerConcurrency ?? 1;
  // Why one batch job more than WORKER_CONCURRENCY, sharing one limit of requests in flight: one job
  // after another, each would end with a tail where fewer requests are in flight (its last slow
  // answers), and none would go out while it is written. The extra job's requests queue in the shared
  // limiter (FIFO) behind the current jobs', fill their tails and keep the limit busy during their
  // writes, as `runSync` overlaps its batches. Each job still writes in its own transaction, once.
  const processBatch = createBatchProcessor(
    context,
    new SharedFetchLimit(options.concurrency * workerConcurrency),
  );

  const tuning = {
    name,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 3,
    // After a lost connection, fetching resumes this soon (BullMQ's default is 15 s); reconnection
    // itself backs off in the backend.
    runRetryDelay: 1_000,
    // Started once the backend is verified and the schedule registered.
    autorun: false,
  };
  const runsWorker = backend.worker<FireJobData | FinishJobData, FireResult | FinishResult>(
    RUNS_QUEUE,
    (job) => {
      if (job.name === FIRE_JOB) return tracked(fire(job as Job<FireJobData>));
      if (job.name === FINISH_JOB) return tracked(finish(job as Job<FinishJobData>));
      throw new UnrecoverableError(`unknown job "${job.name}" in the ${RUNS_QUEUE} queue`);
    },
    { ...tuning, concurrency: 1 },
  );
  const batchesWorker = backend.worker<BatchJobData, unknown>(
    BATCHES_QUEUE,
    // The third parameter must be declared: BullMQ passes the abort signal only to processors that take it.
    (job, token, signal) => tracked(processBatch(job, token, signal)),
    { ...tuning, concurrency: workerConcurrency + 1 },
  );

  const schedule = () =>
    registerSchedule(runsQueue, { cron: options.cron, timezone: options.timezone }, retry, logger);
  const keeper = startRunKeeper({
    prisma,
    runsQueue,
    logger,
    everyMs: options.heartbeatEveryMs ?? 30_000,
    restoreSchedule: async () => {
      if (options.cron === "off" || (await runsQueue.getJobScheduler(SCHEDULER_ID))) return;
      logger.warn(
        "the sync schedule is missing after a queue backend problem (its data lost?): registering it again",
      );
      await schedule();
    },
  });

  backend.onConnectionLost(() => keeper.noteBackendTrouble());
  const logQueueProblem = throttledLog(logger, "warn");
  for (const [label, emitter] of [
    ["runs queue", runsQueue],
    ["batches queue", batchesQueue],
    ["flow producer", flows],
    ["runs worker", runsWorker],
    ["batches worker", batchesWorker],
  ] as const) {
    (emitter as unknown as NodeJS.EventEmitter).on("error", (error: Error) => {
      keeper.noteBackendTrouble();
      // Keyed by message: an outage reported by every component is logged once.
      logQueueProblem(error.message, { err: error.message, component: label }, "queue problem");
    });
  }
  batchesWorker.on("stalled", (jobId) =>
    logger.warn({ jobId }, "batch job stalled (its worker stopped): it goes back to the queue"),
  );
  batchesWorker.on("failed", (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.error(
        { jobId: job.id, runId: job.data.runId, batchIndex: job.data.batchIndex, err: error.message },
        "sync batch failed after every attempt: its run will be closed as failed",
      );
    }
  });
  runsWorker.on("failed", (job, error) => {
    if (!job) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1);
    logger[final ? "error" : "warn"](
      { jobId: job.id, job: job.name, attempt: job.attemptsMade, err: oneLine(error.message) },
      final
        ? `${job.name} job failed after every attempt`
        : `${job.name} job attempt failed: retried with backoff`,
    );
  });

  /** The processors running in this process, whatever the backend can tell during an outage. */
  const inFlight = new Set<Promise<unknown>>();
  function tracked<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  const ready = (async () => {
    // The backend may be down when the worker starts: wait for it (a worker waits out outages), but
    // give up at once when it can never work as configured.
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        await backend.verify();
        await schedule();
        break;
      } catch (error) {
        if (error instanceof QueueSchemaError) throw error;
        logger.error(
          { err: oneLine((error as Error).message), attempt, queues: backend.location },
          "could not reach the queues to register the sync schedule: retrying",
        );
        await sleep(Math.min(1_000 * 2 ** attempt, 30_000), stopping.signal).catch(() => undefined);
      }
    }
    if (stopping.signal.aborted) return;
    for (const worker of [runsWorker, batchesWorker]) {
      worker
        .run()
        .catch((error: unknown) =>
          logQueueProblem("run", { err: (error as Error).message }, "queue problem"),
        );
    }
    await Promise.all([runsWorker.waitUntilReady(), batchesWorker.waitUntilReady()]);
    if (stopping.signal.aborted) return;
    logger.info(
      {
        queues: backend.location,
        cron: options.cron,
        batchSize: options.batchSize,
        workerConcurrency,
      },
      "worker ready",
    );
  })();
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closing ??= (async () => {
      stopping.abort();
      keeper.stop();
      logger.info(
        { timeoutMs: shutdownTimeoutMs },
        "worker stopping: no new jobs; in-flight jobs may finish",
      );
      const workersClosed = Promise.allSettled([runsWorker.close(), batchesWorker.close()]);
      if (!(await idleWithin(shutdownTimeoutMs))) {
        logger.warn("shutdown timeout reached: handing in-flight batches back to the queue");
        batchesWorker.cancelAllJobs("worker shutdown timeout");
        if (!(await idleWithin(10_000))) {
          logger.error("in-flight jobs did not stop: the stalled-job check will give them to another worker");
        }
      }
      // The processors are done; BullMQ records their results (which needs the backend) and closes.
      const reachable = await backend.check().then(
        () => true,
        () => false,
      );
      if (!(await settlesWithin(workersClosed, reachable ? 5_000 : 1_000))) {
        logger.warn(
          "the queues did not answer while closing: a job whose result was not recorded runs again elsewhere (its writes are not repeated)",
        );
      }
      await settlesWithin(
        Promise.allSettled([runsQueue.close(), batchesQueue.close(), flows.close()]),
        5_000,
      );
      await backend.close();
      logger.info("worker stopped");
    })();
    return closing;
  }

  /** Whether no processor runs any more, within `ms` (jobs starting meanwhile are waited for too). */
  async function idleWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (inFlight.size > 0) {
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(50, deadline - Date.now()));
    }
    return true;
  }

  return {
    name,
    ready,
    close,
    checks: {
      postgres: async () => {
        await prisma.$queryRaw`SELECT 1`;
      },
      queue: () => backend.check(),
    },
    queueDepth: async () => {
      const counts = await batchesQueue.getJobCounts("waiting", "active", "delayed", "prioritized");
      return Object.values(counts).reduce((sum, count) => sum + count, 0);
    },
    jobCounts: async () => {
      const states = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed"] as const;
      const [runs, batches] = await Promise.all([
        runsQueue.getJobCounts(...states),
        batchesQueue.getJobCounts(...states),
      ]);
      return Object.fromEntries(states.map((state) => [state, (runs[state] ?? 0) + (batches[state] ?? 0)]));
    },
  };
}
