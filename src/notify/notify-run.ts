import type { PrismaClient } from "../db/prisma.js";
import type { Logger } from "../logger.js";
import type { RunSummary } from "../sync/types.js";
import { loadNotificationDetails } from "./details.js";
import { buildRunNotification, NO_DETAILS, type NotificationDetails, shouldNotify } from "./notification.js";
import { type SendNotificationOptions, sendNotification } from "./send.js";

export interface NotifyRunOptions extends Omit<SendNotificationOptions, "logger"> {
  /** SYNC_NOTIFY_URL; nothing is sent when it is undefined. */
  url: string | undefined;
  prisma: PrismaClient;
  logger: Logger;
}

/**
 * Everything the worker does once a run has finished: decide, read the details, build, send.
 * Never throws; returns whether a notification was delivered. When the details cannot be read, the
 * notification still goes out with the run's counts and empty details.
 */
export async function notifyRunFinished(summary: RunSummary, options: NotifyRunOptions): Promise<boolean> {
  const { url, prisma, logger, ...sendOptions } = options;
  if (url === undefined || !shouldNotify(summary)) return false;
  let details: NotificationDetails = NO_DETAILS;
  try {
    details = await loadNotificationDetails(prisma, summary.runId);
  } catch (error) {
    logger.warn(
      { runId: summary.runId, reason: (error as Error).message },
      "sync notification details unavailable",
    );
  }
  return sendNotification(url, buildRunNotification(summary, details), { logger, ...sendOptions });
}
