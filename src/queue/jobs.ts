// The worker's queues and jobs. Job data holds run ids and account ids only: never the token, never
// account data (that lives in PostgreSQL).
//
//   runs queue     "fire"   (a run's start job, from the job scheduler or `plugchat-sync trigger`):
//                            opens a run and adds its flow; skipped when a run is going
//                  "finish" (the flow's parent): closes the run once every batch is done
//   batches queue  "batch"  (the flow's children): one batch of account ids, written in one transaction
import type { JobsOptions } from "bullmq";

export const RUNS_QUEUE = "runs";
export const BATCHES_QUEUE = "batches";

/** The one job scheduler of a deployment (per QUEUE_PREFIX). */
export const SCHEDULER_ID = "sync-schedule";

// The job that starts a run (from the schedule or `trigger`). Its stored name stays "fire", the name
// earlier versions gave it, so that jobs queued before an upgrade still run.
export const START_RUN_JOB = "fire";
export const FINISH_JOB = "finish";
export const BATCH_JOB = "batch";

export interface StartRunJobData {
  trigger: "schedule" | "manual";
  /** Set once the start job has opened its run, so that a retried start job continues that run. */
  runId?: number;
}

export type StartRunResult =
  | { outcome: "planned"; runId: number; batches: number }
  | { outcome: "skipped"; runningRunId: number; reason: string };

export interface BatchJobData {
  runId: number;
  batchIndex: number;
  ids: string[];
}

export interface FinishJobData {
  runId: number;
  batches: number;
}

export interface FinishResult {
  runId: number;
  status: string;
}

/** What identifies a run for job ids: its id, and its start so that ids stay unique if run ids restart. */
export interface RunRef {
  runId: number;
  startedAt: Date;
}

const runKey = (run: RunRef): string => `run-${run.runId}-${run.startedAt.getTime()}`;

/** Job ids are derived from the run, so a flow added twice for the same run is found, not duplicated. */
export const finishJobId = (run: RunRef): string => `${runKey(run)}-finish`;
const batchJobId = (run: RunRef, batchIndex: number): string => `${runKey(run)}-batch-${batchIndex}`;

const DAY_SECONDS = 24 * 60 * 60;

/** Tunable where tests need short values; the defaults suit production. */
export interface RetryOptions {
  /** Attempts of a batch job, the first included. */
  batchAttempts: number;
  /** First retry delay of start, batch and finish jobs; it doubles at each attempt. */
  retryDelayMs: number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = { batchAttempts: 8, retryDelayMs: 5_000 };

// Finished jobs are kept a while for inspection (Bull Board, Taskforce), then trimmed by BullMQ as
// later jobs finish: by age and by count. Each run's durable record is in the database (sync_runs,
// sync_run_batches), so the queues keep only recent jobs, and their storage stops growing once the
// counts are reached: after about 50 runs (a start and a finish job per run; a batch job holds its
// account ids, about 11.6 KB per 200). A finish job's dependency rows go with it. On Redis and
// PostgreSQL alike (bench: queue footprint).
const KEEP_COMPLETED = { age: 7 * DAY_SECONDS, count: 100 };
const KEEP_FAILED = { age: 30 * DAY_SECONDS, count: 100 };
const KEEP_COMPLETED_BATCHES = { age: DAY_SECONDS, count: 50 };
const KEEP_FAILED_BATCHES = { age: 7 * DAY_SECONDS, count: 200 };

/**
 * Options of every Queue object of the deployment: BullMQ trims each queue's event stream to this
 * length (Redis and PostgreSQL alike; 10,000 by default, reached only after hundreds of runs). Nothing
 * here reads the events (no QueueEvents), so they serve only a dashboard watching live.
 */
export const QUEUE_OPTIONS = { streams: { events: { maxLen: 500 } } } as const;

export function startRunJobOptions(retry: RetryOptions): JobsOptions {
  return {
    attempts: 5,
    backoff: { type: "exponential", delay: retry.retryDelayMs, jitter: 0.2 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

export function finishJobOptions(run: RunRef, retry: RetryOptions): JobsOptions {
  return {
    jobId: finishJobId(run),
    // Closing the run must outlast a long database outage: 11 retries from 5 s, doubling, span ~2.8 h.
    attempts: 12,
    backoff: { type: "exponential", delay: retry.retryDelayMs, jitter: 0.2 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

export function batchJobOptions(run: RunRef, batchIndex: number, retry: RetryOptions): JobsOptions {
  return {
    jobId: batchJobId(run, batchIndex),
    attempts: retry.batchAttempts,
    backoff: { type: "exponential", delay: retry.retryDelayMs, jitter: 0.2 },
    // A batch that fails for good must not keep its run open: the parent still runs, finds the failure
    // with getIgnoredChildrenFailures() and closes the run as failed, saying which batches were lost.
    ignoreDependencyOnFailure: true,
    removeOnComplete: KEEP_COMPLETED_BATCHES,
    removeOnFail: KEEP_FAILED_BATCHES,
  };
}
