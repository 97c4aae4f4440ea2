// What the status page shows, one function per panel: the rows read through src/db/sql, turned into
// plain JSON-ready values that the page and /api/... serve as they are.

import type { PrismaClient } from "../db/prisma.js";
import * as driftSql from "../db/sql/drift.js";
import * as mismatchesSql from "../db/sql/mismatches.js";
import type { RunProgressRow } from "../db/sql/runs.js";
import * as runsSql from "../db/sql/runs.js";
import { failingAccounts, missingAccounts, trackedAccountCounts } from "../db/sql/status-page.js";
import { Prisma } from "../generated/prisma/client.js";
import { progressFigures, type RunProgress } from "../progress/figures.js";

export type { DriftDay } from "../db/sql/drift.js";

/** Rows a list panel shows at most; its `total` tells how many there are. */
const LIST_LIMIT = 100;
const RECENT_RUNS = 20;
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

interface MissingAccount {
  accountId: string;
  name: string | null;
  missingSince: string | null;
}

export interface AccountsPanel {
  tracked: number;
  failing: { total: number; accounts: FailingAccount[] };
  missing: { total: number; accounts: MissingAccount[] };
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
  };
}

/** The latest runs, in the page's shape (the same runs `report` lists). */
export async function recentRuns(prisma: PrismaClient, limit = RECENT_RUNS): Promise<RecentRun[]> {
  const runs = await runsSql.recentRuns(prisma, limit);
  return runs.map((run) => ({
    runId: run.runId,
    trigger: run.trigger,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    durationMs: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
    accountsTotal: run.accountsTotal,
    changed: run.accountsChanged,
    unchanged: run.accountsUnchanged,
    failed: run.accountsFailed,
    notFound: run.accountsNotFound,
    driftCount: run.driftCount,
    error: run.error,
  }));
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
  const missing = await missingAccounts(prisma, limit);
  return {
    tracked: counts.tracked,
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
    missing: {
      total: counts.missing,
      accounts: missing.map((row) => ({
        accountId: row.id,
        name: row.name,
        missingSince: row.missing_since?.toISOString() ?? null,
      })),
    },
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
      const rows = await mismatchesSql.listMismatches(tx, { limit });
      return {
        accountsWithExpectations: await mismatchesSql.countAccountsWithExpectations(tx),
        total: byField.reduce((sum, row) => sum + row.mismatches, 0),
        byField,
        unverified: await mismatchesSql.countUnverifiedAccounts(tx),
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
