import type { PrismaClient } from "../db/prisma.js";
import { failedInRun } from "../db/sql/accounts.js";
import { driftCountsByField } from "../db/sql/drift.js";
import { MAX_FAILING_ACCOUNTS, type NotificationDetails } from "./notification.js";

/**
 * What a run's notification lists: its drift rows counted by field, and the first 20 accounts (by id)
 * that failed in it. An account that failed in an earlier run and was not attempted by this one
 * (untracked, or the run stopped) is not listed; see `failedInRun` for how "failed in it" is read.
 */
export async function loadNotificationDetails(
  prisma: PrismaClient,
  runId: number,
): Promise<NotificationDetails> {
  const [drift, failing] = await Promise.all([
    driftCountsByField(prisma, runId),
    failedInRun(prisma, runId, MAX_FAILING_ACCOUNTS),
  ]);
  return {
    driftByField: Object.fromEntries(drift.map((row) => [row.field, row.changes])),
    failingAccounts: failing.map((row) => ({ accountId: row.id, error: row.last_error ?? "" })),
  };
}
