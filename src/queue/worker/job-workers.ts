// The worker's two BullMQ workers and what they run: scheduled and manual runs' start and finish jobs
// on the runs queue, batch jobs on the batches queue.
import { type Job, UnrecoverableError, type Worker } from "bullmq";
import { DEFAULT_OUTAGE_SETTINGS } from "../../sync/outage-detector.js";
import { SharedFetchLimit } from "../../sync/shared-fetch-limit.js";
import type { QueueBackend } from "../backend/index.js";
import {
  BATCHES_QUEUE,
  type BatchJobData,
  FINISH_JOB,
  type FinishJobData,
  type FinishResult,
  RUNS_QUEUE,
  START_RUN_JOB,
  type StartRunJobData,
  type StartRunResult,
} from "../jobs.js";
import { createBatchProcessor } from "../processors/batch.js";
import type { ProcessorContext } from "../processors/context.js";
import { createFinishProcessor } from "../processors/finish.js";
import { createStartRunProcessor } from "../processors/start-run.js";
import type { InFlightJobs } from "./in-flight-jobs.js";

export type RunsWorker = Worker<StartRunJobData | FinishJobData, StartRunResult | FinishResult>;
export type BatchesWorker = Worker<BatchJobData, unknown>;

export interface JobWorkerSettings {
  name: string;
  /** Batch jobs run at once (WORKER_CONCURRENCY). */
  workerConcurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
}

/** Both workers, created stopped: they take jobs once `run()` is called. */
export function createJobWorkers(
  backend: QueueBackend,
  context: ProcessorContext,
  settings: JobWorkerSettings,
  inFlight: InFlightJobs,
): { runsWorker: RunsWorker; batchesWorker: BatchesWorker } {
  const startRun = createStartRunProcessor(context);
  const finishRun = createFinishProcessor(context);
  // Why one batch job more than WORKER_CONCURRENCY, sharing one limit of requests in flight: one job
  // after another, each would end with a stretch where fewer requests are in flight (its last slow
  // answers), and none would go out while it is written. The extra job's requests queue in the shared
  // limiter (FIFO) behind the current jobs', keep the limit busy meanwhile, as `runSync` overlaps its
  // batches. Each job still writes in its own transaction, once.
  const processBatch = createBatchProcessor(
    context,
    new SharedFetchLimit(context.concurrency * settings.workerConcurrency, {
      settings: context.deps.outage ?? DEFAULT_OUTAGE_SETTINGS,
      logger: context.logger,
    }),
  );
  const tuning = {
    name: settings.name,
    lockDuration: settings.lockDurationMs,
    stalledInterval: settings.stalledIntervalMs,
    maxStalledCount: settings.maxStalledCount,
    // After a lost connection, fetching resumes this soon (BullMQ's default is 15 s); reconnection
    // itself backs off in the backend.
    runRetryDelay: 1_000,
    // Started once the backend is verified and the schedule registered.
    autorun: false,
  };
  const runsWorker = backend.worker<StartRunJobData | FinishJobData, StartRunResult | FinishResult>(
    RUNS_QUEUE,
    (job) => {
      if (job.name === START_RUN_JOB) return inFlight.add(startRun(job as Job<StartRunJobData>));
      if (job.name === FINISH_JOB) return inFlight.add(finishRun(job as Job<FinishJobData>));
      throw new UnrecoverableError(`unknown job "${job.name}" in the ${RUNS_QUEUE} queue`);
    },
    { ...tuning, concurrency: 1 },
  );
  const batchesWorker = backend.worker<BatchJobData, unknown>(
    BATCHES_QUEUE,
    // The third parameter must be declared: BullMQ passes the abort signal only to processors that take it.
    (job, token, signal) => inFlight.add(processBatch(job, token, signal)),
    { ...tuning, concurrency: settings.workerConcurrency + 1 },
  );
  return { runsWorker, batchesWorker };
}
