// account_drift: one row per changed field of one account seen by one run, and the drift_by_day view.
import type { Db, Reader } from "./index.js";

export interface DriftInsert {
  accountId: string;
  field: string;
  from: string | null;
  to: string | null;
}

/** Inserts a run's drift rows; the same change recorded twice in one run (a batch retried) is skipped. */
export async function insertDrift(db: Db, runId: number, rows: readonly DriftInsert[]): Promise<number> {
  if (rows.length === 0) return 0;
  return db.$executeRaw`
    INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value)
    SELECT d.account_id, ${runId}, d.field, d.old_value, d.new_value
      FROM unnest(${rows.map((row) => row.accountId)}::text[], ${rows.map((row) => row.field)}::text[],
                  ${rows.map((row) => row.from)}::text[], ${rows.map((row) => row.to)}::text[])
           AS d(account_id, field, old_value, new_value)
    ON CONFLICT (sync_run_id, account_id, field) DO NOTHING`;
}

/** A run's drift rows counted by field, in field order. */
export async function driftCountsByField(
  db: Db,
  runId: number,
): Promise<{ field: string; changes: number }[]> {
  return db.$queryRaw<{ field: string; changes: number }[]>`
    SELECT field, count(*)::int AS changes
      FROM account_drift
     WHERE sync_run_id = ${runId}
     GROUP BY field
     ORDER BY field`;
}

/** An account behind a run's drift: its name now and the fields that drifted, in field order. */
export interface DriftedAccount {
  accountId: string;
  name: string | null;
  fields: string[];
}

/** The first `limit` accounts (by id) with drift in run `runId`, and how many there are in all. */
export async function driftedAccountsOf(
  db: Db,
  runId: number,
  limit: number,
): Promise<{ first: DriftedAccount[]; total: number }> {
  const rows = await db.$queryRaw<
    { account_id: string; name: string | null; fields: string[]; total: number }[]
  >`
    SELECT d.account_id, a.name, array_agg(d.field ORDER BY d.field) AS fields, count(*) OVER ()::int AS total
      FROM account_drift d LEFT JOIN accounts a ON a.id = d.account_id
     WHERE d.sync_run_id = ${runId}
     GROUP BY d.account_id, a.name
     ORDER BY d.account_id
     LIMIT ${limit}`;
  return {
    first: rows.map((row) => ({ accountId: row.account_id, name: row.name, fields: row.fields })),
    total: rows[0]?.total ?? 0,
  };
}

/**
 * The first `limit` accounts (by id) that disappeared in run `runId` (seen before, answered 404 now:
 * their `exists` drift), with the name last synced, and how many there are in all.
 */
export async function disappearedAccountsOf(
  db: Db,
  runId: number,
  limit: number,
): Promise<{ first: { accountId: string; name: string | null }[]; total: number }> {
  const rows = await db.$queryRaw<{ account_id: string; name: string | null; total: number }[]>`
    SELECT d.account_id, a.name, count(*) OVER ()::int AS total
      FROM account_drift d LEFT JOIN accounts a ON a.id = d.account_id
     WHERE d.sync_run_id = ${runId} AND d.field = 'exists' AND d.new_value = 'false'
     ORDER BY d.account_id
     LIMIT ${limit}`;
  return {
    first: rows.map((row) => ({ accountId: row.account_id, name: row.name })),
    total: rows[0]?.total ?? 0,
  };
}

export interface DriftDay {
  /** YYYY-MM-DD, UTC. */
  day: string;
  field: string;
  changes: number;
  accounts: number;
}

/** Drift per UTC day and field over the last `days` days (today included), from `drift_by_day`. */
export async function driftByDay(db: Db, days: number): Promise<DriftDay[]> {
  return db.$queryRaw<DriftDay[]>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, field, changes, accounts
      FROM drift_by_day
     WHERE day > (now() AT TIME ZONE 'UTC')::date - ${days}::int
     ORDER BY day, field`;
}

export interface DriftEntry {
  detectedAt: Date;
  accountId: string;
  accountName: string | null;
  field: string;
  from: string | null;
  to: string | null;
  runId: number;
}

/** The latest `limit` drift rows, newest first. */
export async function recentDrift(db: Db, limit: number): Promise<DriftEntry[]> {
  return db.$queryRaw<DriftEntry[]>`
    SELECT d.detected_at AS "detectedAt", d.account_id AS "accountId", a.name AS "accountName", d.field,
           d.old_value AS "from", d.new_value AS "to", d.sync_run_id AS "runId"
      FROM account_drift d LEFT JOIN accounts a ON a.id = d.account_id
     ORDER BY d.id DESC LIMIT ${limit}`;
}

/** Drift rows detected since `since` (of one account, if given), newest first, at most `limit`. */
export async function driftSince(
  db: Reader,
  filter: { since: Date; accountId?: string | undefined; limit: number },
): Promise<DriftEntry[]> {
  // Plain SQL, as `report` reads it without Prisma. With the values known when planned, the account
  // test folds away when none is given, and uses the account's index when one is.
  return db.$queryRaw<DriftEntry[]>`
    SELECT d.detected_at AS "detectedAt", d.account_id AS "accountId", a.name AS "accountName", d.field,
           d.old_value AS "from", d.new_value AS "to", d.sync_run_id AS "runId"
      FROM account_drift d JOIN accounts a ON a.id = d.account_id
     WHERE d.detected_at >= ${filter.since}::timestamptz
       AND (${filter.accountId ?? null}::text IS NULL OR d.account_id = ${filter.accountId ?? null}::text)
     ORDER BY d.detected_at DESC, d.id DESC
     LIMIT ${filter.limit}`;
}
