import type { Queue } from "bullmq";
import type { Logger } from "../logger.js";
import {
  type FinishJobData,
  type RetryOptions,
  SCHEDULER_ID,
  START_RUN_JOB,
  type StartRunJobData,
  startRunJobOptions,
} from "./jobs.js";

export interface ScheduleSettings {
  /** SYNC_CRON: 5 or 6 cron fields, or "off". */
  cron: string;
  /** SYNC_TIMEZONE: the IANA zone the cron expression is read in. */
  timezone: string;
}

export type ScheduleChange = "created" | "updated" | "unchanged" | "removed" | "absent";

/**
 * Makes the deployment's one job scheduler match the settings, idempotently: any number of workers
 * may call it at once and leave one scheduler (an upsert under a fixed id); a changed cron or time
 * zone replaces it; "off" removes it, and the workers then take manual runs only.
 */
export async function registerSchedule(
  queue: Queue<StartRunJobData | FinishJobData>,
  settings: ScheduleSettings,
  retry: RetryOptions,
  logger: Logger,
): Promise<ScheduleChange> {
  if (settings.cron === "off") {
    const removed = await queue.removeJobScheduler(SCHEDULER_ID);
    logger.info(
      { cron: "off" },
      removed
        ? "sync schedule removed (SYNC_CRON=off): workers take manual runs only"
        : "no sync schedule (SYNC_CRON=off): workers take manual runs only",
    );
    return removed ? "removed" : "absent";
  }
  const existing = await queue.getJobScheduler(SCHEDULER_ID);
  const same = existing?.pattern === settings.cron && existing.tz === settings.timezone;
  // Upserted even when unchanged, so that the template (job options) follows this version's defaults;
  // the next scheduled start job keeps its time and id, so concurrent upserts add no extra start job.
  await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { pattern: settings.cron, tz: settings.timezone },
    {
      name: START_RUN_JOB,
      data: { trigger: "schedule" },
      // Traced, each scheduled run starts a trace of its own, not one under the worker that upserted this.
      opts: { ...startRunJobOptions(retry), telemetry: { omitContext: true } },
    },
  );
  const change: ScheduleChange = existing === undefined ? "created" : same ? "unchanged" : "updated";
  const next = (await queue.getJobScheduler(SCHEDULER_ID))?.next;
  logger.info(
    {
      cron: settings.cron,
      timezone: settings.timezone,
      ...(change === "updated" ? { previous: existing?.pattern, previousTimezone: existing?.tz } : {}),
      ...(next ? { next: new Date(next).toISOString() } : {}),
    },
    change === "created"
      ? "sync schedule registered"
      : change === "updated"
        ? "sync schedule replaced"
        : "sync schedule unchanged",
  );
  return change;
}
