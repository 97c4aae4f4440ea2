import type { FlowProducer, Queue } from "bullmq";
import type { AbandonedRun } from "../../db/sql/runs.js";
import type { Logger } from "../../logger.js";
import type { RunCounts, RunSummary, SyncDependencies } from "../../sync/types.js";
import type { FinishJobData, RetryOptions, StartRunJobData } from "../jobs.js";

/** What the worker reports to metrics; every method is optional. */
export interface WorkerMetrics {
  /** A run's start job came while another run was going, and was skipped. */
  skippedRunStart?(): void;
  /** A run was closed (once per run). */
  observeRun?(summary: RunSummary): void;
  /** A run left by a dead process was closed as abandoned by this worker (once per run). */
  abandonedRun?(run: AbandonedRun): void;
  /** A batch was written (once per batch), with the field of each drift row it wrote. */
  observeBatch?(counts: RunCounts, driftFields: readonly string[]): void;
}

/** What the job processors of one worker process share. */
export interface ProcessorContext {
  deps: SyncDependencies;
  logger: Logger;
  runsQueue: Queue<StartRunJobData | FinishJobData>;
  flows: FlowProducer;
  /** The name of a queue of this deployment, as its backend names it (for a flow's jobs). */
  queueName: (base: string) => string;
  retry: RetryOptions;
  batchSize: number;
  concurrency: number;
  staleRunAfterMs: number;
  metrics: WorkerMetrics;
  onRunFinished?: ((summary: RunSummary) => Promise<void> | void) | undefined;
}

/** Calls a metrics or hook callback; its failure is logged, never thrown into the job. */
export function callHookSafely(logger: Logger, call: () => void, what: string): void {
  try {
    call();
  } catch (error) {
    logger.warn({ err: (error as Error).message }, `${what} failed`);
  }
}
