// The long-running worker: registers the schedule, turns each run's start job (from the schedule or
// `plugchat-sync trigger`) into a run split in batch jobs (a BullMQ flow: one "finish" parent, one
// "batch" child per batch of account ids), and runs whatever jobs come, alongside any number of other
// worker processes sharing the same queues and database. The queues live wherever the backend it is
// given keeps them (Redis or PostgreSQL); nothing here depends on which.
//
// Exactly once, whatever dies when:
// - a run is opened by one start job only: the database allows one running run (others are skipped);
// - a batch writes once: its sync_run_batches row is written in its own transaction and checked first;
// - a run is closed once: closeRun (db/sql/runs.ts) only closes a running run and tells whether this
//   call closed it;
// - a batch that fails for good (ignoreDependencyOnFailure) still lets the parent close the run.
//
// This module wires the parts, each in a module of its own:
// - processors/: what each job does (start a run, write a batch, finish a run);
// - worker/job-workers.ts: the two BullMQ workers running them;
// - worker/startup.ts: waiting for the backend, registering the schedule, starting the workers;
// - worker/shutdown.ts: the graceful stop;
// - worker/event-logging.ts, worker/health.ts: logs of queue events; health checks and job counts;
// - run-keeper.ts: the heartbeat of the current run and the schedule's upkeep;
// - worker/pruning.ts: removing the rows the retention settings let go, once in a while.
import { throttledLog } from "../observability/throttled-log.js";
import type { RetentionDays } from "../retention/prune.js";
import { PROCESS_NAME } from "../sync/batch.js";
import { DEFAULT_STALE_RUN_AFTER_MS } from "../sync/run-lifecycle.js";
import type { RunSummary, SyncDependencies } from "../sync/types.js";
import type { QueueBackend } from "./backend/index.js";
import {
  BATCHES_QUEUE,
  type BatchJobData,
  DEFAULT_RETRY_OPTIONS,
  type FinishJobData,
  type RetryOptions,
  RUNS_QUEUE,
  SCHEDULER_ID,
  type StartRunJobData,
} from "./jobs.js";
import type { ProcessorContext, WorkerMetrics } from "./processors/context.js";
import { startRunKeeper } from "./run-keeper.js";
import { registerSchedule } from "./scheduler.js";
import { logJobFailures, logQueueErrors } from "./worker/event-logging.js";
import { type HealthChecks, healthChecks, jobCounts, queueDepth } from "./worker/health.js";
import { InFlightJobs } from "./worker/in-flight-jobs.js";
import { createJobWorkers } from "./worker/job-workers.js";
import { startPruning } from "./worker/pruning.js";
import { type QueueHealth, readQueueHealth } from "./worker/queue-health.js";
import { shutDown } from "./worker/shutdown.js";
import { startUp } from "./worker/startup.js";

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
   * requests in flight. One more job is taken to keep the limit busy while they wait for their last
   * answers (see worker/job-workers.ts). Default 1.
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
  /** What the worker prunes, and how often (RETENTION_*_DAYS, PRUNE_EVERY_MS). Default: it never prunes. */
  retention?: { days: RetentionDays; everyMs: number };
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
  readonly checks: HealthChecks;
  /** Batch jobs not finished yet (waiting, delayed, active). */
  queueDepth(): Promise<number>;
  /** Jobs of both queues by state (waiting, active, delayed...), e.g. for a queue-depth gauge. */
  jobCounts(): Promise<Record<string, number>>;
  /** The worker processes on the queues now, and the schedule with its next run (the status page's). */
  queueHealth(): Promise<QueueHealth>;
}

/** What the job processors share, from the worker's options. */
function processorContext(
  dependencies: SyncDependencies,
  options: SyncWorkerOptions,
  shared: Pick<ProcessorContext, "logger" | "retry" | "runsQueue" | "flows">,
): ProcessorContext {
  return {
    ...shared,
    deps: { ...dependencies, logger: shared.logger },
    queueName: (base) => options.backend.queueName(base),
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    staleRunAfterMs: options.staleRunAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS,
    metrics: options.metrics ?? {},
    onRunFinished: options.onRunFinished,
  };
}

export function startWorker(dependencies: SyncDependencies, options: SyncWorkerOptions): SyncWorker {
  const { backend } = options;
  const name = options.name ?? PROCESS_NAME;
  const logger = dependencies.logger.child({ worker: name });
  const retry: RetryOptions = { ...DEFAULT_RETRY_OPTIONS, ...options.retry };
  const workerConcurrency = options.workerConcurrency ?? 1;
  const stopping = new AbortController();
  const inFlight = new InFlightJobs();

  const runsQueue = backend.queue<StartRunJobData | FinishJobData>(RUNS_QUEUE);
  const batchesQueue = backend.queue<BatchJobData>(BATCHES_QUEUE);
  const flows = backend.flowProducer();
  const context = processorContext(dependencies, options, { logger, retry, runsQueue, flows });
  const { runsWorker, batchesWorker } = createJobWorkers(
    backend,
    context,
    {
      name,
      workerConcurrency,
      lockDurationMs: options.lockDurationMs ?? 30_000,
      stalledIntervalMs: options.stalledIntervalMs ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 3,
    },
    inFlight,
  );

  const schedule = () =>
    registerSchedule(runsQueue, { cron: options.cron, timezone: options.timezone }, retry, logger);
  const keeper = startRunKeeper({
    prisma: dependencies.prisma,
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

  const pruning =
    options.retention && startPruning({ prisma: dependencies.prisma, logger, ...options.retention });

  backend.onConnectionLost(() => keeper.noteBackendTrouble());
  const logQueueProblem = throttledLog(logger, "warn");
  const components = { runsQueue, batchesQueue, flows, runsWorker, batchesWorker };
  logQueueErrors(components, logQueueProblem, () => keeper.noteBackendTrouble());
  logJobFailures(runsWorker, batchesWorker, logger);

  const ready = startUp({
    backend,
    registerSchedule: schedule,
    workers: [runsWorker, batchesWorker],
    logger,
    logQueueProblem,
    stopping: stopping.signal,
    readyFields: { cron: options.cron, batchSize: options.batchSize, workerConcurrency },
  });
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  return {
    name,
    ready,
    close: () => {
      closing ??= (async () => {
        stopping.abort();
        keeper.stop();
        // A pass under way ends after its current chunk, while the jobs finish.
        await Promise.all([
          pruning?.stop(),
          shutDown({
            ...components,
            backend,
            inFlight,
            logger,
            timeoutMs: options.shutdownTimeoutMs ?? 30_000,
          }),
        ]);
      })();
      return closing;
    },
    checks: healthChecks(dependencies.prisma, backend),
    queueDepth: () => queueDepth(batchesQueue),
    jobCounts: () => jobCounts(runsQueue, batchesQueue),
    queueHealth: () => readQueueHealth(backend, runsQueue, batchesQueue),
  };
}
