// The worker's start-up: the backend may be down when the worker starts, so it is waited for (a worker
// waits out outages), unless it can never work as configured (a QueueSchemaError: run `migrate`).
import { setTimeout as sleep } from "node:timers/promises";
import { ExitCode } from "../../errors.js";
import { oneLine } from "../../lib/text.js";
import type { Logger } from "../../logger.js";
import { type QueueBackend, QueueSchemaError } from "../backend/index.js";
import type { QueueProblemLog } from "./event-logging.js";
import type { BatchesWorker, RunsWorker } from "./job-workers.js";

export interface StartUpSteps {
  backend: QueueBackend;
  /** Registers (or updates, or removes) the deployment's schedule. */
  registerSchedule: () => Promise<unknown>;
  workers: readonly [RunsWorker, BatchesWorker];
  logger: Logger;
  logQueueProblem: QueueProblemLog;
  /** Aborted by the shutdown: the start-up stops where it is, and the workers take no job. */
  stopping: AbortSignal;
  /** Logged with "worker ready". */
  readyFields: Record<string, unknown>;
}

/**
 * Verifies the backend and registers the schedule (retrying until it works or the worker stops),
 * then starts both workers. Resolves once they take jobs, or as soon as the worker stops.
 */
export async function startUp(steps: StartUpSteps): Promise<void> {
  const { backend, logger, stopping, workers } = steps;
  if (!(await prepareBackend(steps)) || stopping.aborted) return;
  for (const worker of workers) {
    worker
      .run()
      .catch((error: unknown) =>
        steps.logQueueProblem("run", { err: (error as Error).message }, "queue problem"),
      );
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  if (stopping.aborted) return;
  logger.info({ queues: backend.location, ...steps.readyFields }, "worker ready");
}

/** Whether the backend is verified and the schedule registered; false when the worker stopped first. */
async function prepareBackend(steps: StartUpSteps): Promise<boolean> {
  const { backend, logger, stopping } = steps;
  for (let attempt = 1; !stopping.aborted; attempt++) {
    try {
      await backend.verify();
      await steps.registerSchedule();
      return true;
    } catch (error) {
      if (error instanceof QueueSchemaError) throw error;
      // A URL that can never work as written (a certificate file that is not there) is not waited out.
      const described = backend.describeUnreachable(error);
      if (described?.exitCode === ExitCode.badConfig) throw described;
      logger.error(
        { err: described?.message ?? oneLine((error as Error).message), attempt, queues: backend.location },
        "could not reach the queues to register the sync schedule: retrying",
      );
      // Doubling from 2 s, at most 30 s.
      await sleep(Math.min(1_000 * 2 ** attempt, 30_000), undefined, { signal: stopping }).catch(
        () => undefined,
      );
    }
  }
  return false;
}
