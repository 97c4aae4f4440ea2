// The worker's graceful shutdown: no new job; in-flight jobs may finish within the shutdown timeout;
// batches still running then are handed back to the queue (another worker runs them, no attempt
// spent); the results are recorded if the backend answers; then the queues and the backend close.
import type { FlowProducer, Queue } from "bullmq";
import { settlesWithin } from "../../lib/timeout.js";
import type { Logger } from "../../logger.js";
import type { QueueBackend } from "../backend/index.js";
import type { InFlightJobs } from "./in-flight-jobs.js";
import type { BatchesWorker, RunsWorker } from "./job-workers.js";

export interface ShutdownParts {
  backend: QueueBackend;
  runsQueue: Queue;
  batchesQueue: Queue;
  flows: FlowProducer;
  runsWorker: RunsWorker;
  batchesWorker: BatchesWorker;
  inFlight: InFlightJobs;
  logger: Logger;
  /** How long in-flight jobs may take to finish before batches are handed back. */
  timeoutMs: number;
}

/** Stops the workers, then closes the queues and the backend (the start-up is stopped by the caller). */
export async function shutDown(parts: ShutdownParts): Promise<void> {
  const { backend, logger } = parts;
  logger.info({ timeoutMs: parts.timeoutMs }, "worker stopping: no new jobs; in-flight jobs may finish");
  const workersClosed = Promise.allSettled([parts.runsWorker.close(), parts.batchesWorker.close()]);
  await letInFlightJobsEnd(parts);
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
    Promise.allSettled([parts.runsQueue.close(), parts.batchesQueue.close(), parts.flows.close()]),
    5_000,
  );
  await backend.close();
  logger.info("worker stopped");
}

/** Waits for in-flight jobs; past the timeout, cancels the batches (they hand themselves back). */
async function letInFlightJobsEnd(parts: ShutdownParts): Promise<void> {
  const { inFlight, logger } = parts;
  if (await inFlight.idleWithin(parts.timeoutMs)) return;
  logger.warn("shutdown timeout reached: handing in-flight batches back to the queue");
  parts.batchesWorker.cancelAllJobs("worker shutdown timeout");
  if (!(await inFlight.idleWithin(10_000))) {
    logger.error("in-flight jobs did not stop: the stalled-job check will give them to another worker");
  }
}
