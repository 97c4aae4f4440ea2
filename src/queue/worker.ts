// The long-running worker: registers the schedule, turns each fire into a run split in batch jobs
// (a BullMQ flow: one "finish" parent, one "batch" child per batch of account ids), and runs whatever
// jobs come, alongside any number of other worker processes sharing the same Redis and database.
//
// Exactly once, whatever dies when:
// - a run is opened by one fire only: the database allows one running run (others are skipped);
// - a batch writes once: its sync_run_batches row is written in its own transaction and checked first;
// - a run is closed once: finishRun only closes a running run and tells whether this call closed it;
// - a batch that fails for good (ignoreDependencyOnFailure) still lets the parent close the run.
import { FlowProducer, type Job, Queue, UnrecoverableError, WaitingError, Worker } from "bullmq";
import { sleep } from "../plugchat/sleep.js";
import {
  BatchInterruptedError,
  completeRun,
  DEFAULT_STALE_RUN_AFTER_MS,
  PROCESS_NAME,
  runBatch,
  type SyncDependencies,
  startRun,
} from "../sync/run-sync.js";
import { findRun, heartbeat, RunInProgressError, runningRun, trackedIdsAfter } from "../sync/store.js";
import type { RunCounts, RunSummary } from "../sync/types.js";
import {
  BATCH_JOB,
  BATCHES_QUEUE,
  type BatchJobData,
  batchJobOptions,
  DEFAULT_RETRY_OPTIONS,
  FINISH_JOB,
  FIRE_JOB,
  type FinishJobData,
  type FinishResult,
  type FireJobData,
  type FireResult,
  finishJobId,
  finishJobOptions,
  type RetryOptions,
  RUNS_QUEUE,
  SCHEDULER_ID,
} from "./jobs.js";
import { closeConnection, createWorkerConnection, throttledLog } from "./redis.js";
import { registerSchedule } from "./scheduler.js";

/** What the worker reports to metrics; every method is optional. */
export interface WorkerMetrics {
  /** A fire came while a run was going, and was skipped. */
  skippedFire?(): void;
  /** A run was closed (once per run). */
  observeRun?(summary: RunSummary): void;
  /** A batch was written (once per batch), with the field of each drift row it wrote. */
  observeBatch?(counts: RunCounts, driftFields: readonly string[]): void;
}

export interface SyncWorkerOptions {
  redisUrl: string;
  /** QUEUE_PREFIX: every Redis key of the worker's queues starts with it. */
  prefix: string;
  /** SYNC_CRON (5 or 6 fields, or "off") and SYNC_TIMEZONE. */
  cron: string;
  timezone: string;
  /** Accounts per batch job (SYNC_BATCH_SIZE). */
  batchSize: number;
  /** Plugchat requests in flight per batch (SYNC_CONCURRENCY). */
  concurrency: number;
  /** Batch jobs this process runs at once (WORKER_CONCURRENCY). Default 1. */
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
  /** Longest wait between two Redis reconnection attempts. Default 20 s. */
  maxReconnectDelayMs?: number;
  /** This worker's name, stored on the jobs it processes. Default host:pid. */
  name?: string;
  metrics?: WorkerMetrics;
  /** Called once per run, after the run is closed (e.g. to send a notification); its errors are logged. */
  onRunFinished?: (summary: RunSummary) => Promise<void> | void;
}

export interface SyncWorker {
  readonly name: string;
  /** Settles once the schedule is registered and both workers are connected. */
  readonly ready: Promise<void>;
  /**
   * Stops gracefully: takes no new job, lets in-flight jobs finish within the shutdown timeout, then
   * hands the rest back to the queue (they run again elsewhere, no attempt spent), and closes the
   * worker's Redis connections. The Prisma client and the Plugchat client are the caller's.
   */
  close(): Promise<void>;
  /** For health endpoints: resolve when the dependency answers, reject otherwise. */
  readonly checks: { postgres(): Promise<void>; redis(): Promise<void> };
  /** Batch jobs not finished yet (waiting, delayed, active). */
  queueDepth(): Promise<number>;
  /** Jobs of both queues by state (waiting, active, delayed...), e.g. for a queue-depth gauge. */
  jobCounts(): Promise<Record<string, number>>;
}

const PENDING_STATES = new Set(["waiting", "waiting-children", "active", "delayed", "prioritized"]);

export function startWorker(dependencies: SyncDependencies, options: SyncWorkerOptions): SyncWorker {
  const { prisma } = dependencies;
  const name = options.name ?? PROCESS_NAME;
  const logger = dependencies.logger.child({ worker: name });
  const deps: SyncDependencies = { ...dependencies, logger };
  const retry: RetryOptions = { ...DEFAULT_RETRY_OPTIONS, ...options.retry };
  const staleRunAfterMs = options.staleRunAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
  const metrics = options.metrics ?? {};

  const connection = createWorkerConnection(options.redisUrl, {
    logger,
    connectionName: `${options.prefix}:worker:${name}`,
    ...(options.maxReconnectDelayMs === undefined
      ? {}
      : { maxReconnectDelayMs: options.maxReconnectDelayMs }),
  });
  const base = { connection, prefix: options.prefix };
  const runsQueue = new Queue<FireJobData | FinishJobData>(RUNS_QUEUE, base);
  const batchesQueue = new Queue<BatchJobData>(BATCHES_QUEUE, base);
  const flows = new FlowProducer(base);
  const workerOptions = {
    ...base,
    name,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 3,
  };
  const runsWorker = new Worker<FireJobData | FinishJobData, FireResult | FinishResult>(
    RUNS_QUEUE,
    (job) => tracked(processRunsJob(job)),
    { ...workerOptions, concurrency: 1 },
  );
  const batchesWorker = new Worker<BatchJobData>(
    BATCHES_QUEUE,
    // The third parameter must be declared: BullMQ passes the abort signal only to processors that take it.
    (job, token, signal) => tracked(processBatch(job, token, signal)),
    { ...workerOptions, concurrency: options.workerConcurrency ?? 1 },
  );

  const logQueueProblem = throttledLog(logger, "warn");
  for (const [label, emitter] of [
    ["runs queue", runsQueue],
    ["batches queue", batchesQueue],
    ["flow producer", flows],
    ["runs worker", runsWorker],
    ["batches worker", batchesWorker],
  ] as const) {
    (emitter as unknown as NodeJS.EventEmitter).on("error", (error: Error) =>
      // Keyed by message: an outage reported by every component is logged once.
      logQueueProblem(error.message, { err: error.message, component: label }, "queue problem"),
    );
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

  let closing: Promise<void> | undefined;
  /** The processors running in this process, whatever BullMQ can tell while Redis is away. */
  const inFlight = new Set<Promise<unknown>>();
  function tracked<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    work.then(
      () => inFlight.delete(work),
      () => inFlight.delete(work),
    );
    return work;
  }

  async function processRunsJob(job: Job<FireJobData | FinishJobData>): Promise<FireResult | FinishResult> {
    if (job.name === FIRE_JOB) return fire(job as Job<FireJobData>);
    if (job.name === FINISH_JOB) return finish(job as Job<FinishJobData>);
    throw new UnrecoverableError(`unknown job "${job.name}" in the ${RUNS_QUEUE} queue`);
  }

  /** A fire: opens a run and queues it as a flow of batches; skipped when a run is going. */
  async function fire(job: Job<FireJobData>): Promise<FireResult> {
    const { trigger } = job.data;
    let run: RunSummary | null;
    if (job.data.runId === undefined) {
      try {
        run = await startRun(deps, trigger, staleRunAfterMs, options.batchSize);
      } catch (error) {
        if (!(error instanceof RunInProgressError)) throw error;
        run = await runLeftByThisFire(job, error.runId);
        if (!run) {
          logger.warn(
            {
              jobId: job.id,
              trigger,
              runningRunId: error.runId,
              runningSince: error.startedAt.toISOString(),
            },
            "sync fire skipped: another run is still going",
          );
          report(() => metrics.skippedFire?.(), "metrics skippedFire");
          return { outcome: "skipped", runningRunId: error.runId, reason: error.message };
        }
        logger.warn(
          { jobId: job.id, trigger, runId: run.runId, attempt: job.attemptsStarted },
          "sync fire delivered again: continuing the run it opened before its worker stopped",
        );
      }
      // A retried fire (its worker died) continues this run instead of being skipped because of it.
      await job.updateData({ ...job.data, runId: run.runId });
    } else {
      run = await findRun(prisma, job.data.runId);
      if (!run) return { outcome: "planned", runId: job.data.runId, batches: 0 };
    }
    const { runId } = run;
    const existing = await runsQueue.getJob(finishJobId(run));
    if (existing) return { outcome: "planned", runId, batches: (existing.data as FinishJobData).batches };
    if (run.status !== "running") return { outcome: "planned", runId, batches: 0 };

    const children = [];
    let accounts = 0;
    let afterId: string | null = null;
    for (let batchIndex = 0; ; batchIndex++) {
      const ids = await trackedIdsAfter(prisma, afterId, options.batchSize);
      if (ids.length === 0) break;
      afterId = ids[ids.length - 1] ?? null;
      accounts += ids.length;
      children.push({
        name: BATCH_JOB,
        queueName: BATCHES_QUEUE,
        data: { runId, batchIndex, ids } satisfies BatchJobData,
        opts: batchJobOptions(run, batchIndex, retry),
      });
    }
    await flows.add({
      name: FINISH_JOB,
      queueName: RUNS_QUEUE,
      data: { runId, batches: children.length } satisfies FinishJobData,
      opts: finishJobOptions(run, retry),
      children,
    });
    logger.info({ runId, trigger, batches: children.length, accounts }, "sync run queued in batches");
    return { outcome: "planned", runId, batches: children.length };
  }

  /**
   * The run an earlier attempt of this fire opened, when that attempt stopped (its worker killed, or a
   * database error) after opening the run but before recording its id on the job: the running run is
   * then one that no flow belongs to. Without this the fire would be skipped because of its own run,
   * which would stay open, with no batches, until its heartbeat went stale (5 minutes).
   * Adopting a run that another fire opened at the same moment is harmless: the flow's job ids derive
   * from the run, so the second add of the same flow adds nothing.
   */
  async function runLeftByThisFire(job: Job<FireJobData>, runId: number): Promise<RunSummary | null> {
    if (job.attemptsStarted <= 1 && job.attemptsMade === 0 && job.stalledCounter === 0) return null;
    const run = await findRun(prisma, runId);
    if (run?.status !== "running" || run.trigger !== job.data.trigger) return null;
    // Opened before this fire was queued (a minute allowed for clocks apart): another fire's run.
    if (run.startedAt.getTime() < job.timestamp - 60_000) return null;
    if (await runsQueue.getJob(finishJobId(run))) return null;
    return run;
  }

  /** The flow's parent: every batch is done (or failed for good), so the run is closed. */
  async function finish(job: Job<FinishJobData>): Promise<FinishResult> {
    const { runId, batches } = job.data;
    const failures = Object.entries(await job.getIgnoredChildrenFailures());
    let error: string | null = null;
    if (failures.length > 0) {
      const lost = failures
        .map(([key]) => Number(/batch-(\d+)$/.exec(key)?.[1]))
        .filter((index) => Number.isInteger(index))
        .sort((a, b) => a - b);
      const reason = shorten(oneLine(failures[0]?.[1] ?? "unknown error"), 300);
      error = `${failures.length} of ${batches} batches failed after every attempt, so their accounts were not synced (batch ${lost.join(", ")}): ${reason}`;
    }
    const finished = await completeRun(deps, runId, error);
    if (finished.closed) {
      report(() => metrics.observeRun?.(finished.summary), "metrics observeRun");
      if (options.onRunFinished) {
        try {
          await options.onRunFinished(finished.summary);
        } catch (thrown) {
          logger.warn({ runId, err: (thrown as Error).message }, "after-run hook failed (notification)");
        }
      }
    }
    return { runId, status: finished.summary.status };
  }

  async function processBatch(job: Job<BatchJobData>, token: string | undefined, signal?: AbortSignal) {
    const { runId, batchIndex, ids } = job.data;
    const batchLogger = logger.child({ runId, batchIndex, jobId: job.id });
    batchLogger.debug({ accounts: ids.length, attempt: job.attemptsMade + 1 }, "sync batch started");
    try {
      const result = await runBatch(
        deps,
        { runId, batchIndex, ids },
        { concurrency: options.concurrency, ...(signal ? { signal } : {}) },
      );
      if (result.status === "written") {
        report(() => metrics.observeBatch?.(result.counts, result.driftFields), "metrics observeBatch");
        batchLogger.info(
          {
            accounts: result.counts.accountsTotal,
            changed: result.counts.accountsChanged,
            failed: result.counts.accountsFailed,
            drift: result.counts.driftCount,
          },
          "sync batch written",
        );
      } else {
        batchLogger.info({ status: result.status }, "sync batch skipped");
      }
      return { status: result.status, accounts: result.counts.accountsTotal };
    } catch (error) {
      if (error instanceof BatchInterruptedError && token !== undefined) {
        // Shutdown past its timeout: the batch wrote nothing, so it goes back to the queue as it was,
        // without spending an attempt, for another worker (or this one, restarted).
        await job.moveToWait(token);
        batchLogger.warn("sync batch handed back to the queue: the worker is stopping");
        throw new WaitingError();
      }
      batchLogger.warn(
        {
          err: oneLine((error as Error).message),
          attempt: job.attemptsMade + 1,
          attempts: job.opts.attempts,
        },
        "sync batch attempt failed: retried with backoff",
      );
      throw error;
    }
  }

  function report(call: () => void, what: string): void {
    try {
      call();
    } catch (error) {
      logger.warn({ err: (error as Error).message }, `${what} failed`);
    }
  }

  // Heartbeat of the run the queue is working on: refreshed by every live worker while the run's
  // finish job is pending (or while Redis cannot tell), so a run waiting out an outage or retries is
  // not taken for abandoned; a run whose workers all died, or whose jobs are gone, goes stale.
  const logHeartbeatProblem = throttledLog(logger, "warn");
  let beating = false;
  const keeper = setInterval(() => {
    if (beating) return;
    beating = true;
    keepRunAlive()
      .catch((error: unknown) =>
        logHeartbeatProblem("heartbeat", { err: (error as Error).message }, "run heartbeat failed"),
      )
      .finally(() => {
        beating = false;
      });
  }, options.heartbeatEveryMs ?? 30_000);
  keeper.unref();

  async function keepRunAlive(): Promise<void> {
    const run = await runningRun(prisma);
    if (!run || run.trigger === "cli") return; // a CLI run beats its own heart
    let pending = true; // when Redis cannot tell, the run is waiting for it, not abandoned
    if (connection.status === "ready") {
      const state = await withTimeout(runsQueue.getJobState(finishJobId(run)), 5_000);
      if (state !== undefined) pending = PENDING_STATES.has(state);
    }
    if (pending) await heartbeat(prisma, run.runId);
  }

  const schedule = () =>
    registerSchedule(
      runsQueue as Queue<FireJobData>,
      { cron: options.cron, timezone: options.timezone },
      retry,
      logger,
    );
  // A Redis that comes back without its data (restarted without persistence, a failover to a replica
  // that lagged) has lost the job scheduler too, and no scheduled run would ever fire again: after a
  // reconnection the schedule is registered again when it is missing.
  let scheduleRegistered = false;
  let reconnecting = false;
  connection.on("reconnecting", () => {
    reconnecting = true;
  });
  connection.on("ready", () => {
    if (!reconnecting || !scheduleRegistered || closing !== undefined) return;
    reconnecting = false;
    restoreSchedule().catch((error: unknown) =>
      logQueueProblem(
        "schedule",
        { err: (error as Error).message },
        "could not check the sync schedule after a Redis reconnection",
      ),
    );
  });

  async function restoreSchedule(): Promise<void> {
    if (options.cron === "off" || (await runsQueue.getJobScheduler(SCHEDULER_ID))) return;
    logger.warn(
      "the sync schedule is missing after a Redis reconnection (Redis lost its data?): registering it again",
    );
    await schedule();
  }

  const ready = (async () => {
    for (let attempt = 1; closing === undefined; attempt++) {
      try {
        await schedule();
        scheduleRegistered = true;
        break;
      } catch (error) {
        logger.error(
          { err: (error as Error).message, attempt },
          "could not register the sync schedule: retrying",
        );
        await sleep(Math.min(1_000 * 2 ** attempt, 30_000));
      }
    }
    await Promise.all([runsWorker.waitUntilReady(), batchesWorker.waitUntilReady()]);
    logger.info(
      {
        prefix: options.prefix,
        cron: options.cron,
        batchSize: options.batchSize,
        workerConcurrency: options.workerConcurrency ?? 1,
      },
      "worker ready",
    );
  })();
  ready.catch(() => undefined);

  async function close(): Promise<void> {
    closing ??= (async () => {
      clearInterval(keeper);
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
      // The processors are done; BullMQ records their results (which needs Redis) and closes.
      if (!(await settlesWithin(workersClosed, connection.status === "ready" ? 5_000 : 1_000))) {
        logger.warn(
          "Redis did not answer while closing: a job whose result was not recorded runs again elsewhere (its writes are not repeated)",
        );
      }
      await settlesWithin(
        Promise.allSettled([runsQueue.close(), batchesQueue.close(), flows.close()]),
        5_000,
      );
      await closeConnection(connection);
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
      redis: async () => {
        if (connection.status !== "ready") throw new Error(`Redis connection is ${connection.status}`);
        const answer = await withTimeout(connection.ping(), 2_000);
        if (answer !== "PONG") throw new Error("Redis did not answer PING in time");
      },
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

/** The value, or undefined when it takes longer than `ms` (the late settlement is ignored). */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const done = Symbol("done");
  return (
    (await withTimeout(
      work.then(() => done),
      ms,
    )) === done
  );
}

/** Error messages (Prisma's span several lines) as one line, for the run's `error` and log lines. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
