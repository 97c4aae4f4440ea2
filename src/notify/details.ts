import type { PrismaClient } from "../db/prisma.js";
import { MAX_FAILING_ACCOUNTS, type NotificationDetails } from "./notification.js";

/**
 * What a run's notification lists, read from PostgreSQL: its drift rows counted by field, and the
 * first 20 accounts (by id) that failed in it. The accounts table keeps only each account's latest
 * attempt, so "failed in it" is `last_status = 'failed'` with that attempt made while the run was
 * going (runs never overlap): an account that failed in an earlier run and was not attempted by this
 * one (untracked, or the run stopped) is not listed. Exact for the latest run, which is when the
 * notification is sent; for an older run, accounts attempted again since are missing.
 */
export async function loadNotificationDetails(
  prisma: PrismaClient,
  runId: number,
): Promise<NotificationDetails> {
  const [drift, failing] = await Promise.all([
    prisma.$queryRaw<{ field: string; changes: number }[]>`
      SELECT field, count(*)::int AS changes
        FROM account_drift
       WHERE sync_run_id = ${runId}
       GROUP BY field
       ORDER BY field`,
    prisma.$queryRaw<{ id: string; last_error: string | null }[]>`
      SELECT a.id, a.last_error
        FROM accounts a
        JOIN sync_runs r ON r.id = ${runId}
       WHERE a.last_status = 'failed'
         AND a.last_attempt_at BETWEEN r.started_at AND COALESCE(r.finished_at, now())
       ORDER BY a.id
       LIMIT ${MAX_FAILING_ACCOUNTS}`,
  ]);
  return {
    driftByField: Object.fromEntries(drift.map((row) => [row.field, row.changes])),
    failingAccounts: failing.map((row) => ({ accountId: row.id, error: row.last_error ?? "" })),
  };
}
