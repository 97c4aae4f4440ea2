import type { PrismaClient } from "../db/prisma.js";
import { failedInRun } from "../db/sql/accounts.js";
import { driftCountsByField } from "../db/sql/drift.js";
import { mismatchesOpenedBy } from "../db/sql/mismatches.js";
import { MAX_FAILING_ACCOUNTS, MAX_OPENED_MISMATCHES, type NotificationDetails } from "./notification.js";

/**
 * What a run's notification lists: its drift rows counted by field, the first 20 accounts (by id)
 * that failed in it, and the first 20 mismatches with the integrator's records it opened (by account
 * and field). An account that failed in an earlier run and was not attempted by this one (untracked,
 * or the run stopped) is not listed; see `failedInRun` for how "failed in it" is read.
 */
export async function loadNotificationDetails(
  prisma: PrismaClient,
  runId: number,
): Promise<NotificationDetails> {
  const [drift, failing, mismatches] = await Promise.all([
    driftCountsByField(prisma, runId),
    failedInRun(prisma, runId, MAX_FAILING_ACCOUNTS),
    mismatchesOpenedBy(prisma, runId, MAX_OPENED_MISMATCHES),
  ]);
  return {
    driftByField: Object.fromEntries(drift.map((row) => [row.field, row.changes])),
    failingAccounts: failing.map((row) => ({ accountId: row.id, error: row.last_error ?? "" })),
    openedMismatches: mismatches.first,
  };
}
