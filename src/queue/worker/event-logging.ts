// What the worker logs of its queues' and workers' events: problems with the backend (throttled, as
// an outage is reported by every component again and again) and failed or stalled jobs.
import type { FlowProducer, Queue } from "bullmq";
import { oneLine } from "../../lib/text.js";
import type { Logger } from "../../logger.js";
import type { BatchesWorker, RunsWorker } from "./job-workers.js";

/** Logs a queue problem at most once per key in a while (see throttledLog). */
export type QueueProblemLog = (key: string, fields: Record<string, unknown>, message: string) => void;

export interface LoggedComponents {
  runsQueue: Queue;
  batchesQueue: Queue;
  flows: FlowProducer;
  runsWorker: RunsWorker;
  batchesWorker: BatchesWorker;
}

/** Logs every component's "error" event, and calls `onBackendTrouble` for each. */
export function logQueueErrors(
  components: LoggedComponents,
  logQueueProblem: QueueProblemLog,
  onBackendTrouble: () => void,
): void {
  for (const [label, emitter] of [
    ["runs queue", components.runsQueue],
    ["batches queue", components.batchesQueue],
    ["flow producer", components.flows],
    ["runs worker", components.runsWorker],
    ["batches worker", components.batchesWorker],
  ] as const) {
    (emitter as unknown as NodeJS.EventEmitter).on("error", (error: Error) => {
      onBackendTrouble();
      // Keyed by message: an outage reported by every component is logged once.
      logQueueProblem(error.message, { err: error.message, component: label }, "queue problem");
    });
  }
}

/** Logs batch jobs that stalled or failed for good, and every failed attempt of a runs-queue job. */
export function logJobFailures(runsWorker: RunsWorker, batchesWorker: BatchesWorker, logger: Logger): void {
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
}
