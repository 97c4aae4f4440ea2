// What the deployment gauges read (src/observability/deployment-gauges.ts): the tracked accounts by
// state and the runs by status, from the database rather than counted by a process, so that every
// worker shows the same figures and runs of `sync` count too. Accounts are read through the
// account_current_state view (tracked accounts only), not the table's columns.
import type { Db } from "./index.js";

/** The states an account is counted in: a small fixed set, the gauge's label values. */
export const ACCOUNT_STATES = ["active", "inactive", "failing", "missing", "pending"] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

/**
 * Tracked accounts by state: `failing` (its last fetch failed), `missing` (Plugchat answers 404),
 * `active` or `inactive` (found, by Plugchat's `active` flag; unknown counts as inactive), `pending`
 * (never fetched yet).
 */
export async function accountsByState(db: Db): Promise<{ state: AccountState; accounts: number }[]> {
  return db.$queryRaw<{ state: AccountState; accounts: number }[]>`
    SELECT CASE
             WHEN last_status = 'failed' THEN 'failing'
             WHEN last_status = 'not_found' THEN 'missing'
             WHEN last_status = 'ok' AND active IS TRUE THEN 'active'
             WHEN last_status = 'ok' THEN 'inactive'
             ELSE 'pending'
           END AS state,
           count(*)::int AS accounts
      FROM account_current_state
     GROUP BY 1
     ORDER BY 1`;
}

export interface RunFigures {
  /** Runs kept in sync_runs (RETENTION_DAYS), by status, with when the last of each closed (null: none closed). */
  byStatus: { status: string; runs: number; lastFinishedAt: Date | null }[];
  /** What the account source did for the latest run that read one: applied, refused or skipped. */
  lastSourceOutcome: string | null;
}

/** The runs by status and the latest account source outcome, in one statement. */
export async function runFigures(db: Db): Promise<RunFigures> {
  const rows = await db.$queryRaw<
    { status: string | null; runs: number; last_finished_at: Date | null; source_outcome: string | null }[]
  >`
    WITH by_status AS (
      SELECT status, count(*)::int AS runs, max(finished_at) AS last_finished_at
        FROM sync_runs GROUP BY status)
    SELECT b.status, coalesce(b.runs, 0) AS runs, b.last_finished_at, s.source_outcome
      FROM (SELECT (SELECT source_outcome FROM sync_runs
                     WHERE source_outcome IS NOT NULL ORDER BY id DESC LIMIT 1) AS source_outcome) s
      LEFT JOIN by_status b ON true`;
  return {
    byStatus: rows.flatMap(({ status, runs, last_finished_at }) =>
      status === null ? [] : [{ status, runs, lastFinishedAt: last_finished_at }],
    ),
    lastSourceOutcome: rows[0]?.source_outcome ?? null,
  };
}
