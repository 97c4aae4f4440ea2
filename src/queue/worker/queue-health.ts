// What the status page's "health at a glance" reads of the queues: the worker processes connected to
// them now, and the deployment's schedule with its next run. Both backends answer the same calls.
import type { Queue } from "bullmq";
import type { QueueBackend } from "../backend/index.js";
import { SCHEDULER_ID } from "../jobs.js";

export interface QueueHealth {
  /** Worker processes (their names, host:pid by default) taking jobs from either queue now, sorted. */
  workers: string[];
  /** The schedule registered in the queue; null when there is none (SYNC_CRON=off). */
  schedule: {
    cron: string;
    /** The IANA zone the cron expression is read in; null for the scheduler's default (UTC). */
    timezone: string | null;
    /** When the next scheduled run is due (ISO 8601); null if the queue holds no next time. */
    nextRunAt: string | null;
  } | null;
}

export async function readQueueHealth(
  backend: QueueBackend,
  runsQueue: Queue,
  batchesQueue: Queue,
): Promise<QueueHealth> {
  const [runsWorkers, batchesWorkers, scheduler] = await Promise.all([
    backend.workerNames(runsQueue),
    backend.workerNames(batchesQueue),
    runsQueue.getJobScheduler(SCHEDULER_ID),
  ]);
  // Each process runs one worker per queue: a process counts once, whichever queue it is seen on.
  const workers = [...new Set([...runsWorkers, ...batchesWorkers])].sort();
  const schedule =
    scheduler?.pattern === undefined || scheduler.pattern === null
      ? null
      : {
          cron: scheduler.pattern,
          timezone: scheduler.tz ?? null,
          nextRunAt: scheduler.next ? new Date(scheduler.next).toISOString() : null,
        };
  return { workers, schedule };
}
