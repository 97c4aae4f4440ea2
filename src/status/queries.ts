// What the status page shows, read from PostgreSQL: one read-only query per panel, through Prisma's
// raw SQL (parameterised). Each returns plain JSON-ready values; the page and /api/... serve them as is.
import type { PrismaClient } from "../db/prisma.js";
import { progressFigures, type RunProgress } from "../progress/figures.js";

/** Rows a list panel shows at most; its `total` tells how many there are. */
export const LIST_LIMIT = 100;
export const RECENT_RUNS = 20;
export const DRIFT_DAYS = 30;

export interface CurrentRun {
  runId: number;
  trigger: string;
  startedAt: string;
  heartbeatAt: string;
  accountsDone: number;
  accountsPlanned: number | null;
  batchesDone: number;
  batchesPlanned: number | null;
  changed: number;
  unchanged: number;
  failed: number;
  notFound: number;
  driftCount: number;
  accountsPerSecond: number;
  etaSeconds: number | null;
  /** 0 to 1; null without a plan. */
  fraction: number | null;
}

export interface RecentRun {
  runId: number;
  trigger: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  accountsTotal: number;
  changed: number;
  unchanged: number;
  failed: number;
  notFound: number;
  driftCount: number;
  error: string | null;
}

export interface DriftDay {
  /** YYYY-MM-DD, UTC. */
  day: string;
  field: string;
  changes: number;
  accounts: number;
}

export interface DriftRow {
  accountId: string;
  name: string | null;
  field: string;
  oldValue: string | null;
  newValue: string | null;
  detectedAt: string;
}

export const RECENT_DRIFT = 20;

export interface FailingAccount {
  accountId: string;
  name: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  /** The first failed attempt of the current spell; null if it began before that was recorded. */
  failingSince: string | null;
  /** The last success; null if never. */
  lastSyncedAt: string | null;
  lastAttemptAt: string | null;
}

export interface MissingAccount {
  accountId: string;
  name: string | null;
  missingSince: string | null;
}

export interface AccountsPanel {
  tracked: number;
  failing: { total: number; accounts: FailingAccount[] };
  missing: { total: number; accounts: MissingAccount[] };
}

interface ProgressRow {
  id: number;
  trigger: string;
  status: string;
  started_at: Date;
  heartbeat_at: Date;
  accounts_total: number;
  accounts_planned: number | null;
  batches_planned: number | null;
  accounts_changed: number;
  accounts_unchanged: number;
  accounts_failed: number;
  accounts_not_found: number;
  drift_count: number;
  batches_done: number;
}

async function progressRows(prisma: PrismaClient, runId: number | null): Promise<ProgressRow[]> {
  return prisma.$queryRaw<ProgressRow[]>`
    SELECT r.id, r.trigger, r.status, r.started_at, r.heartbeat_at, r.accounts_total, r.accounts_planned,
           r.batches_planned, r.accounts_changed, r.accounts_unchanged, r.accounts_failed,
           r.accounts_not_found, r.drift_count,
           (SELECT count(*) FROM sync_run_batches b WHERE b.run_id = r.id)::int AS batches_done
      FROM sync_runs r
     WHERE ${runId}::int IS NULL AND r.status = 'running' OR r.id = ${runId}::int
     ORDER BY r.id DESC LIMIT 1`;
}

function toProgress(row: ProgressRow): RunProgress {
  return {
    runId: row.id,
    startedAt: row.started_at,
    accountsDone: row.accounts_total,
    accountsPlanned: row.accounts_planned,
    batchesDone: row.batches_done,
    batchesPlanned: row.batches_planned,
    changed: row.accounts_changed,
    failed: row.accounts_failed,
    notFound: row.accounts_not_found,
  };
}

/** One run's progress and status, or null when there is no such run (`trigger --wait` follows it). */
export async function runProgress(
  prisma: PrismaClient,
  runId: number,
): Promise<{ status: string; progress: RunProgress } | null> {
  const [row] = await progressRows(prisma, runId);
  return row ? { status: row.status, progress: toProgress(row) } : null;
}

/** The run going on now, with its progress; null when none is running. */
export async function currentRun(prisma: PrismaClient, now = new Date()): Promise<CurrentRun | null> {
  const [row] = await progressRows(prisma, null);
  if (!row) return null;
  const figures = progressFigures(toProgress(row), now);
  return {
    runId: row.id,
    trigger: row.trigger,
    startedAt: row.started_at.toISOString(),
    heartbeatAt: row.heartbeat_at.toISOString(),
    accountsDone: row.accounts_total,
    accountsPlanned: row.accounts_planned,
    batchesDone: row.batches_done,
    batchesPlanned: row.batches_planned,
    changed: row.accounts_changed,
    unchanged: row.accounts_unchanged,
    failed: row.accounts_failed,
    notFound: row.accounts_not_found,
    driftCount: row.drift_count,
    accountsPerSecond: figures.accountsPerSecond,
    etaSeconds: figures.etaSeconds,
    fraction: figures.fraction,
  };
}

export async function recentRuns(prisma: PrismaClient, limit = RECENT_RUNS): Promise<RecentRun[]> {
  const rows = await prisma.$queryRaw<
    {
      id: number;
      trigger: string;
      status: string;
      started_at: Date;
      finished_at: Date | null;
      accounts_total: number;
      accounts_changed: number;
      accounts_unchanged: number;
      accounts_failed: number;
      accounts_not_found: number;
      drift_count: number;
      error: string | null;
    }[]
  >`
    SELECT id, trigger, status, started_at, finished_at, accounts_total, accounts_changed,
           accounts_unchanged, accounts_failed, accounts_not_found, drift_count, error
      FROM sync_runs ORDER BY id DESC LIMIT ${limit}`;
  return rows.map((row) => ({
    runId: row.id,
    trigger: row.trigger,
    status: row.status,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    durationMs: row.finished_at ? row.finished_at.getTime() - row.started_at.getTime() : null,
    accountsTotal: row.accounts_total,
    changed: row.accounts_changed,
    unchanged: row.accounts_unchanged,
    failed: row.accounts_failed,
    notFound: row.accounts_not_found,
    driftCount: row.drift_count,
    error: row.error,
  }));
}

/** Drift per UTC day and field over the last `days` days (today included), from `drift_by_day`. */
export async function driftByDay(prisma: PrismaClient, days = DRIFT_DAYS): Promise<DriftDay[]> {
  const rows = await prisma.$queryRaw<{ day: string; field: string; changes: number; accounts: number }[]>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, field, changes, accounts
      FROM drift_by_day
     WHERE day > (now() AT TIME ZONE 'UTC')::date - ${days}::int
     ORDER BY day, field`;
  return rows;
}

/** The latest drift rows, newest first: the page's "what changed" list (values can be webhook URLs). */
export async function recentDrift(prisma: PrismaClient, limit = RECENT_DRIFT): Promise<DriftRow[]> {
  const rows = await prisma.$queryRaw<
    {
      account_id: string;
      name: string | null;
      field: string;
      old_value: string | null;
      new_value: string | null;
      detected_at: Date;
    }[]
  >`
    SELECT d.account_id, a.name, d.field, d.old_value, d.new_value, d.detected_at
      FROM account_drift d LEFT JOIN accounts a ON a.id = d.account_id
     ORDER BY d.id DESC LIMIT ${limit}`;
  return rows.map((row) => ({
    accountId: row.account_id,
    name: row.name,
    field: row.field,
    oldValue: row.old_value,
    newValue: row.new_value,
    detectedAt: row.detected_at.toISOString(),
  }));
}

export async function accountsPanel(prisma: PrismaClient, limit = LIST_LIMIT): Promise<AccountsPanel> {
  const [counts] = await prisma.$queryRaw<{ tracked: number; failing: number; missing: number }[]>`
    SELECT count(*)::int AS tracked,
           (count(*) FILTER (WHERE last_status = 'failed'))::int AS failing,
           (count(*) FILTER (WHERE last_status = 'not_found'))::int AS missing
      FROM accounts WHERE tracked`;
  const failing = await prisma.$queryRaw<
    {
      id: string;
      name: string | null;
      consecutive_failures: number;
      last_error: string | null;
      failing_since: Date | null;
      last_synced_at: Date | null;
      last_attempt_at: Date | null;
    }[]
  >`
    SELECT id, name, consecutive_failures, last_error, failing_since, last_synced_at, last_attempt_at
      FROM accounts WHERE tracked AND last_status = 'failed'
     ORDER BY consecutive_failures DESC, id LIMIT ${limit}`;
  const missing = await prisma.$queryRaw<{ id: string; name: string | null; missing_since: Date | null }[]>`
    SELECT id, name, missing_since FROM accounts WHERE tracked AND last_status = 'not_found'
     ORDER BY missing_since NULLS LAST, id LIMIT ${limit}`;
  return {
    tracked: counts?.tracked ?? 0,
    failing: {
      total: counts?.failing ?? 0,
      accounts: failing.map((row) => ({
        accountId: row.id,
        name: row.name,
        consecutiveFailures: row.consecutive_failures,
        lastError: row.last_error,
        failingSince: row.failing_since?.toISOString() ?? null,
        lastSyncedAt: row.last_synced_at?.toISOString() ?? null,
        lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
      })),
    },
    missing: {
      total: counts?.missing ?? 0,
      accounts: missing.map((row) => ({
        accountId: row.id,
        name: row.name,
        missingSince: row.missing_since?.toISOString() ?? null,
      })),
    },
  };
}
