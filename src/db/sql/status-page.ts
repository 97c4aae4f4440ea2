// What the status page's accounts panel reads: counts of tracked accounts by status, and the first of
// the failing and of the missing ones. (Its runs and drift panels read runs.ts and drift.ts.)
import type { Db } from "./index.js";

export async function trackedAccountCounts(
  db: Db,
): Promise<{ tracked: number; failing: number; missing: number }> {
  const [counts] = await db.$queryRaw<{ tracked: number; failing: number; missing: number }[]>`
    SELECT count(*)::int AS tracked,
           (count(*) FILTER (WHERE last_status = 'failed'))::int AS failing,
           (count(*) FILTER (WHERE last_status = 'not_found'))::int AS missing
      FROM accounts WHERE tracked`;
  return counts ?? { tracked: 0, failing: 0, missing: 0 };
}

export interface FailingAccountRow {
  id: string;
  name: string | null;
  consecutive_failures: number;
  last_error: string | null;
  failing_since: Date | null;
  last_synced_at: Date | null;
  last_attempt_at: Date | null;
}

/** Tracked accounts whose last attempt failed, the longest failing first. */
export async function failingAccounts(db: Db, limit: number): Promise<FailingAccountRow[]> {
  return db.$queryRaw<FailingAccountRow[]>`
    SELECT id, name, consecutive_failures, last_error, failing_since, last_synced_at, last_attempt_at
      FROM accounts WHERE tracked AND last_status = 'failed'
     ORDER BY consecutive_failures DESC, id LIMIT ${limit}`;
}

/** Tracked accounts Plugchat answers 404 for, the longest missing first. */
export async function missingAccounts(
  db: Db,
  limit: number,
): Promise<{ id: string; name: string | null; missing_since: Date | null }[]> {
  return db.$queryRaw<{ id: string; name: string | null; missing_since: Date | null }[]>`
    SELECT id, name, missing_since FROM accounts WHERE tracked AND last_status = 'not_found'
     ORDER BY missing_since NULLS LAST, id LIMIT ${limit}`;
}
