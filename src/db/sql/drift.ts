// account_drift: one row per changed field of one account seen by one run, and the drift_by_day view.
import type { Db } from "./index.js";

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
  const rows = await db.$queryRaw<
    {
      account_id: string;
      name: string | null;
      field: string;
      old_value: string | null;
      new_value: string | null;
      detected_at: Date;
      sync_run_id: number;
    }[]
  >`
    SELECT d.account_id, a.name, d.field, d.old_value, d.new_value, d.detected_at, d.sync_run_id
      FROM account_drift d LEFT JOIN accounts a ON a.id = d.account_id
     ORDER BY d.id DESC LIMIT ${limit}`;
  return rows.map((row) => ({
    detectedAt: row.detected_at,
    accountId: row.account_id,
    accountName: row.name,
    field: row.field,
    from: row.old_value,
    to: row.new_value,
    runId: row.sync_run_id,
  }));
}

/** Drift rows detected since `since` (of one account, if given), newest first, at most `limit`. */
export async function driftSince(
  db: Db,
  filter: { since: Date; accountId?: string | undefined; limit: number },
): Promise<DriftEntry[]> {
  const rows = await db.accountDrift.findMany({
    where: {
      detectedAt: { gte: filter.since },
      ...(filter.accountId ? { accountId: filter.accountId } : {}),
    },
    orderBy: [{ detectedAt: "desc" }, { id: "desc" }],
    take: filter.limit,
    include: { account: { select: { name: true } } },
  });
  return rows.map((row) => ({
    detectedAt: row.detectedAt,
    accountId: row.accountId,
    accountName: row.account.name,
    field: row.field,
    from: row.oldValue,
    to: row.newValue,
    runId: row.syncRunId,
  }));
}
