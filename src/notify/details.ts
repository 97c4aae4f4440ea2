import type { PrismaClient } from "../db/prisma.js";
import { failedInRun } from "../db/sql/accounts.js";
import { disappearedAccountsOf, driftCountsByField, driftedAccountsOf } from "../db/sql/drift.js";
import { mismatchesOpenedBy } from "../db/sql/mismatches.js";
import { MAX_LISTED_ACCOUNTS, type NotificationDetails } from "./notification.js";

/**
 * What a run's notification lists: its drift rows counted by field, and the first 20 accounts (by id)
 * behind each kind of news: drift, failures, disappearances and mismatches with the integrator's
 * records it opened (by account and field). An account that failed in an earlier run and was not
 * attempted by this one (untracked, or the run stopped) is not listed; see `failedInRun` for how
 * "failed in it" is read.
 */
export async function loadNotificationDetails(
  prisma: PrismaClient,
  runId: number,
): Promise<NotificationDetails> {
  const [driftCounts, drifted, failing, missing, mismatches] = await Promise.all([
    driftCountsByField(prisma, runId),
    driftedAccountsOf(prisma, runId, MAX_LISTED_ACCOUNTS),
    failedInRun(prisma, runId, MAX_LISTED_ACCOUNTS),
    disappearedAccountsOf(prisma, runId, MAX_LISTED_ACCOUNTS),
    mismatchesOpenedBy(prisma, runId, MAX_LISTED_ACCOUNTS),
  ]);
  return {
    driftByField: Object.fromEntries(driftCounts.map((row) => [row.field, row.changes])),
    driftedAccounts: drifted.first,
    driftedAccountsTotal: drifted.total,
    failingAccounts: failing.map((row) => ({
      accountId: row.id,
      name: row.name,
      error: row.last_error ?? "",
    })),
    missingAccounts: missing.first,
    missingAccountsTotal: missing.total,
    openedMismatches: mismatches.first,
  };
}
