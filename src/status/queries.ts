// What the status page shows, one function per panel: the rows read through src/db/sql, turned into
// plain JSON-ready values that the page and /api/... serve as they are.

import type { PrismaClient } from "../db/prisma.js";
import * as driftSql from "../db/sql/drift.js";
import { countUnverifiedAccounts, listMismatches } from "../db/sql/mismatch-list.js";
import * as mismatchesSql from "../db/sql/mismatches.js";
import type { RunProgressRow } from "../db/sql/runs.js";
import * as runsSql from "../db/sql/runs.js";
import {
  failingAccounts,
  lastSuccessfulRun,
  type NotFoundAccountRow,
  notFoundAccounts,
  type RunRow,
  recentRunRows,
  trackedAccountCounts,
} from "../db/sql/status-page.js";
import { Prisma } from "../generated/prisma/client.js";
import { progressFigures, type RunProgress } from "../progress/figures.js";
import type { QueueHealth } from "../queue/worker/queue-health.js";
import { DEFAULT_STALE_RUN_AFTER_MS } from "../sync/run-lifecycle.js";
import { type Health, judgeHealth } from "./health.js";
import { scheduleIntervalMs } from "./schedule-interval.js";

export type { DriftDay } from "../db/sql/drift.js";

/** Rows a list panel shows at most; its `total` tells how many there are. */
const LIST_LIMIT = 100;
const RECENT_RUNS = 20;
/** Runs the page reads to fill its lines, runs with nothing new being folded into one line each. */
export const RUNS_READ_FOR_PAGE = 100;
/** Mismatches the page lists at most; `plugchat-sync mismatches` lists them all. */
const MISMATCHES_LISTED = 50;
const DRIFT_DAYS = 30;

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
  /** No heartbeat for over `staleAfterSeconds`: the next run will close it as abandoned. */
  stale: boolean;
  staleAfterSeconds: number;
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
  /** The last heartbeat: when its process was last known to be working on it. */
  heartbeatAt: string;
  /** What the account source did first; null without a source (or before it was read). */
  source: {
    /** applied | refused | skipped */
    outcome: string;
    /** Why it was refused (removal limit) or skipped (unreachable, query failed). */
    error: string | null;
    added: number | null;
    retracked: number | null;
    removed: number | null;
  } | null;
  /**
   * stale: running, with no heartbeat for longer than a run is given before the next one closes it as
   * abandoned (its process died?); abandoned: closed so, as failed.
   */
  mark: "stale" | "abandoned" | null;
}

export interface DriftRow {
  accountId: string;
  name: string | null;
  field: string;
  oldValue: string | null;
  newValue: string | null;
  detectedAt: string;
}

const RECENT_DRIFT = 20;

interface FailingAccount {
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

interface NotFoundAccount {
  accountId: string;
  name: string | null;
  /** Since when Plugchat answers 404 for it. */
  missingSince: string | null;
  /** The last time Plugchat answered with its data; null: never. */
  lastSyncedAt: string | null;
}

export interface AccountsPanel {
  tracked: number;
  /** Plugchat's `active` flag of the accounts it answers for (failing ones: their last known value). */
  active: number;
  inactive: number;
  /** Not fetched yet. */
  pending: number;
  failing: { total: number; accounts: FailingAccount[] };
  /** 404 after Plugchat had answered with the account's data: deleted on Plugchat? */
  missing: { total: number; accounts: NotFoundAccount[] };
  /** 404 every time: an id Plugchat never knew (a typo, another tenant's account). */
  neverFound: { total: number; accounts: NotFoundAccount[] };
}

/**
 * Accounts done: those fetched (reported about once a second by each process fetching), or those
 * written when more. A batch fetched again counts twice in the first, so it is held to the plan.
 */
function accountsDone(row: RunProgressRow): number {
  const fetched = Math.min(row.accounts_fetched, row.accounts_planned ?? row.accounts_fetched);
  return Math.max(row.accounts_total, fetched);
}

function toProgress(row: RunProgressRow): RunProgress {
  return {
    runId: row.id,
    startedAt: row.started_at,
    accountsDone: accountsDone(row),
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
  const row = await runsSql.runProgressRow(prisma, runId);
  return row ? { status: row.status, progress: toProgress(row) } : null;
}

/** The run going on now, with its progress; null when none is running. */
export async function currentRun(prisma: PrismaClient, now = new Date()): Promise<CurrentRun | null> {
  const row = await runsSql.runProgressRow(prisma, null);
  if (!row) return null;
  const figures = progressFigures(toProgress(row), now);
  return {
    runId: row.id,
    trigger: row.trigger,
    startedAt: row.started_at.toISOString(),
    heartbeatAt: row.heartbeat_at.toISOString(),
    accountsDone: accountsDone(row),
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
    stale: now.getTime() - row.heartbeat_at.getTime() > DEFAULT_STALE_RUN_AFTER_MS,
    staleAfterSeconds: DEFAULT_STALE_RUN_AFTER_MS / 1000,
  };
}

/** The latest runs, in the page's shape, with their account source and whether they look abandoned. */
export async function recentRuns(prisma: PrismaClient, limit = RECENT_RUNS): Promise<RecentRun[]> {
  const rows = await recentRunRows(prisma, limit, DEFAULT_STALE_RUN_AFTER_MS);
  return rows.map(toRecentRun);
}

function toRecentRun(row: RunRow): RecentRun {
  return {
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
    heartbeatAt: row.heartbeat_at.toISOString(),
    source:
      row.source_outcome === null
        ? null
        : {
            outcome: row.source_outcome,
            error: row.source_error,
            added: row.source_added,
            retracked: row.source_retracked,
            removed: row.source_removed,
          },
    mark: row.stale
      ? "stale"
      : row.status === "failed" && row.error === runsSql.ABANDONED_RUN_ERROR
        ? "abandoned"
        : null,
  };
}

/** Drift per UTC day and field over the last `days` days (today included). */
export async function driftByDay(prisma: PrismaClient, days = DRIFT_DAYS) {
  return driftSql.driftByDay(prisma, days);
}

/** The latest drift rows, newest first: the page's "what changed" list (values can be webhook URLs). */
export async function recentDrift(prisma: PrismaClient, limit = RECENT_DRIFT): Promise<DriftRow[]> {
  const rows = await driftSql.recentDrift(prisma, limit);
  return rows.map((row) => ({
    accountId: row.accountId,
    name: row.accountName,
    field: row.field,
    oldValue: row.from,
    newValue: row.to,
    detectedAt: row.detectedAt.toISOString(),
  }));
}

export async function accountsPanel(prisma: PrismaClient, limit = LIST_LIMIT): Promise<AccountsPanel> {
  const counts = await trackedAccountCounts(prisma);
  const failing = await failingAccounts(prisma, limit);
  const missing = await notFoundAccounts(prisma, true, limit);
  const neverFound = await notFoundAccounts(prisma, false, limit);
  return {
    tracked: counts.tracked,
    active: counts.active,
    inactive: counts.inactive,
    pending: counts.pending,
    failing: {
      total: counts.failing,
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
    missing: { total: counts.missing, accounts: missing.map(toNotFoundAccount) },
    neverFound: { total: counts.neverFound, accounts: neverFound.map(toNotFoundAccount) },
  };
}

function toNotFoundAccount(row: NotFoundAccountRow): NotFoundAccount {
  return {
    accountId: row.id,
    name: row.name,
    missingSince: row.missing_since?.toISOString() ?? null,
    lastSyncedAt: row.last_synced_at?.toISOString() ?? null,
  };
}

export interface HealthPanel extends Health {
  /** The last run that succeeded (or was partial), with its age in seconds; null if none did. */
  lastSuccess: { runId: number; finishedAt: string; ageSeconds: number } | null;
  /** The schedule as the queues hold it, the longest gap between its runs, and the next run. */
  schedule: {
    cron: string;
    timezone: string | null;
    intervalSeconds: number | null;
    nextRunAt: string | null;
  } | null;
  /** Worker processes on the queues now (their names); null when the queues did not say. */
  workers: string[] | null;
}

/**
 * "Health at a glance": the facts from the database and the queues (null when this process has none,
 * or they did not answer), and the state judged on them.
 */
export async function healthPanel(
  prisma: PrismaClient,
  queue: QueueHealth | null,
  now = new Date(),
): Promise<HealthPanel> {
  const [success, [latest, previous], counts] = await Promise.all([
    lastSuccessfulRun(prisma),
    recentRunRows(prisma, 2, DEFAULT_STALE_RUN_AFTER_MS),
    trackedAccountCounts(prisma),
  ]);
  const running = latest?.status === "running" ? latest : undefined;
  const finished = running ? previous : latest;
  const schedule = queue?.schedule ?? null;
  const intervalMs = schedule ? scheduleIntervalMs(schedule.cron, schedule.timezone, now) : null;
  const health = judgeHealth({
    now,
    lastSuccess: success
      ? { runId: success.id, startedAt: success.started_at, finishedAt: success.finished_at }
      : null,
    scheduleIntervalMs: intervalMs,
    lastFinished: finished
      ? {
          runId: finished.id,
          status: finished.status,
          error: finished.error,
          sourceOutcome: finished.source_outcome,
          sourceError: finished.source_error,
        }
      : null,
    running: running ? { runId: running.id, heartbeatAt: running.heartbeat_at, stale: running.stale } : null,
    accounts: { tracked: counts.tracked, failing: counts.failing },
    liveWorkers: queue ? queue.workers.length : null,
  });
  return {
    ...health,
    lastSuccess: success
      ? {
          runId: success.id,
          finishedAt: success.finished_at.toISOString(),
          ageSeconds: Math.max(0, Math.round((now.getTime() - success.finished_at.getTime()) / 1000)),
        }
      : null,
    schedule: schedule
      ? { ...schedule, intervalSeconds: intervalMs === null ? null : intervalMs / 1000 }
      : null,
    workers: queue ? queue.workers : null,
  };
}

/** One row of the account_mismatches view, as the page and /api/mismatches show it. */
interface MismatchRow {
  accountId: string;
  name: string | null;
  field: string;
  /** As account_drift writes values: text, "true"/"false" for booleans, null for Plugchat's null. */
  expected: string | null;
  actual: string | null;
  /** When the run that first saw it closed (ISO 8601). */
  since: string;
  runId: number;
}

export interface MismatchesPanel {
  /** Tracked accounts with expected values from your records; 0: nothing is compared. */
  accountsWithExpectations: number;
  /** Open mismatches (the view's rows), all fields together. */
  total: number;
  /** The view's rows counted by field, in field order; fields without any are left out. */
  byField: { field: string; mismatches: number }[];
  /** Accounts with expected values whose last fetch does not tell (never synced, or failing). */
  unverified: number;
  /** The first mismatches by account and field; `total` tells how many there are. */
  mismatches: MismatchRow[];
}

/**
 * The "out of sync with your records" panel: every figure read in one snapshot (repeatable read), so
 * that the counts and the list agree even when a run closes meanwhile.
 */
export async function mismatchesPanel(
  prisma: PrismaClient,
  limit = MISMATCHES_LISTED,
): Promise<MismatchesPanel> {
  return prisma.$transaction(
    async (tx) => {
      const byField = await mismatchesSql.mismatchCountsByField(tx);
      const rows = await listMismatches(tx, { limit });
      return {
        accountsWithExpectations: await mismatchesSql.countAccountsWithExpectations(tx),
        total: byField.reduce((sum, row) => sum + row.mismatches, 0),
        byField,
        unverified: await countUnverifiedAccounts(tx),
        mismatches: rows.map((row) => ({
          accountId: row.accountId,
          name: row.name,
          field: row.field,
          expected: row.expected,
          actual: row.actual,
          since: row.since.toISOString(),
          runId: row.runId,
        })),
      };
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead },
  );
}
