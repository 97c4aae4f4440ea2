// What the status page reads apart from runs.ts and drift.ts: the accounts panel (counts of tracked
// accounts by state, the first of the failing and of the not found ones, through the view
// account_current_state), the last runs with their account source, and the facts its health is
// judged on.
import type { Db } from "./index.js";

export interface AccountStateCounts {
  tracked: number;
  /** Plugchat's `active` of accounts found (or failing now: their last known value). */
  active: number;
  inactive: number;
  failing: number;
  /** Plugchat answers 404 for them now, after it had answered with their data before. */
  missing: number;
  /** Plugchat answered 404 every time it was asked: an id it never knew (a typo, another tenant's). */
  neverFound: number;
  /** Not fetched yet. */
  pending: number;
}

export async function trackedAccountCounts(db: Db): Promise<AccountStateCounts> {
  const [counts] = await db.$queryRaw<AccountStateCounts[]>`
    SELECT count(*)::int AS tracked,
           (count(*) FILTER (WHERE active AND last_status <> 'not_found'))::int AS active,
           (count(*) FILTER (WHERE NOT active AND last_status <> 'not_found'))::int AS inactive,
           (count(*) FILTER (WHERE last_status = 'failed'))::int AS failing,
           (count(*) FILTER (WHERE last_status = 'not_found' AND last_synced_at IS NOT NULL))::int AS missing,
           (count(*) FILTER (WHERE last_status = 'not_found' AND last_synced_at IS NULL))::int AS "neverFound",
           (count(*) FILTER (WHERE last_status = 'pending'))::int AS pending
      FROM account_current_state`;
  return counts ?? { tracked: 0, active: 0, inactive: 0, failing: 0, missing: 0, neverFound: 0, pending: 0 };
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
    SELECT account_id AS id, name, consecutive_failures, last_error, failing_since, last_synced_at,
           last_attempt_at
      FROM account_current_state WHERE last_status = 'failed'
     ORDER BY consecutive_failures DESC, account_id LIMIT ${limit}`;
}

export interface NotFoundAccountRow {
  id: string;
  name: string | null;
  missing_since: Date | null;
  /** The last time Plugchat answered with its data; null: never. */
  last_synced_at: Date | null;
}

/**
 * Tracked accounts Plugchat answers 404 for, the longest first: those it knew before (`seen`), or
 * those it never knew.
 */
export async function notFoundAccounts(db: Db, seen: boolean, limit: number): Promise<NotFoundAccountRow[]> {
  return db.$queryRaw<NotFoundAccountRow[]>`
    SELECT account_id AS id, name, missing_since, last_synced_at
      FROM account_current_state
     WHERE last_status = 'not_found' AND (last_synced_at IS NOT NULL) = ${seen}
     ORDER BY missing_since NULLS LAST, account_id LIMIT ${limit}`;
}

export interface RunRow {
  id: number;
  trigger: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  heartbeat_at: Date;
  accounts_total: number;
  accounts_changed: number;
  accounts_unchanged: number;
  accounts_failed: number;
  accounts_not_found: number;
  drift_count: number;
  error: string | null;
  source_outcome: string | null;
  source_error: string | null;
  source_added: number | null;
  source_retracked: number | null;
  source_removed: number | null;
  /** Running, with no heartbeat for longer than the threshold given (by the database's clock). */
  stale: boolean;
}

/** The latest runs, newest first, with what their account source did. */
export async function recentRunRows(db: Db, limit: number, staleAfterMs: number): Promise<RunRow[]> {
  return db.$queryRaw<RunRow[]>`
    SELECT id, trigger, status, started_at, finished_at, heartbeat_at, accounts_total, accounts_changed,
           accounts_unchanged, accounts_failed, accounts_not_found, drift_count, error, source_outcome,
           source_error, source_added, source_retracked, source_removed,
           (status = 'running' AND heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000})) AS stale
      FROM sync_runs ORDER BY id DESC LIMIT ${limit}`;
}

/**
 * The last run that did its work (succeeded, or partial: some accounts failed). One run at a time per
 * database, so the newest by id ended last.
 */
export async function lastSuccessfulRun(
  db: Db,
): Promise<{ id: number; started_at: Date; finished_at: Date } | undefined> {
  const [row] = await db.$queryRaw<{ id: number; started_at: Date; finished_at: Date }[]>`
    SELECT id, started_at, finished_at FROM sync_runs
     WHERE status IN ('succeeded', 'partial') AND finished_at IS NOT NULL
     ORDER BY id DESC LIMIT 1`;
  return row;
}
