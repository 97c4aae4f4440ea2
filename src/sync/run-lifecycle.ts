// Opening and closing a run, whoever runs its batches: `runSync` in one process, or the queue worker
// (`startRun` when a scheduled or manual run's start job comes, `completeRun` when every batch is done).

import type { PrismaClient } from "../db/prisma.js";
import { countTrackedAccounts } from "../db/sql/accounts.js";
import { deleteRunBatches } from "../db/sql/batches.js";
import {
  type AbandonedRun,
  closeAbandonedRuns,
  findRun,
  insertRun,
  runningRun,
  updateRunPlan,
} from "../db/sql/runs.js";
import { ExitCode, UserFacingError } from "../errors.js";
import type { Logger } from "../logger.js";
import { reconcileAccountSource } from "./account-source-step.js";
import { batchSizesFor } from "./batch-sizes.js";
import { closeRunAndCompare, logMismatches } from "./close-run.js";
import { RunInProgressError, staleMinutes } from "./errors.js";
import { logRunClosed } from "./run-logging.js";
import type { RunPlan, RunSummary, RunTrigger, SyncDependencies } from "./types.js";

export const DEFAULT_STALE_RUN_AFTER_MS = 5 * 60_000;

/** What opening and closing a run need: the database, and where to log. */
type RunBookkeeping = Pick<SyncDependencies, "prisma" | "logger">;

export interface OpenRunOptions {
  /** A running run whose heartbeat is older than this was abandoned by a dead process. Default 5 min. */
  staleRunAfterMs?: number;
  /** With it, the run records how many batches it plans (its progress shows batches done of that total). */
  batchSize?: number;
  /** Told of each run closed as abandoned before this one opens (the worker's metrics count them). */
  onAbandoned?: (run: AbandonedRun) => void;
}

/**
 * Opens a run (see `openRun`: one at a time, stale ones closed first) and logs it; then, with an
 * account source, reconciles the tracked set before any id is read for the run. Opening the run
 * first means one reconciliation at a time, and none while batches are writing.
 */
export async function startRun(
  deps: SyncDependencies,
  trigger: RunTrigger,
  options: OpenRunOptions = {},
): Promise<RunSummary & { plan: RunPlan }> {
  const run = await openRun(deps, trigger, options);
  deps.logger.info({ runId: run.runId, trigger }, "sync run started");
  if (!deps.accountSource) return run;
  const accountSource = await reconcileAccountSource(deps, run.runId, deps.accountSource);
  if (accountSource.outcome !== "applied") return { ...run, accountSource };
  // The source may have changed the tracked set the plan was counted from.
  const plan = await planOf(deps.prisma, options.batchSize);
  await updateRunPlan(deps.prisma, run.runId, plan);
  return { ...run, accountSource, plan };
}

/**
 * Opens a run, unless one is running. A running run whose heartbeat is older than the stale window was
 * left by a crashed process: it is closed as failed first (logged, one warn line each), so a crash
 * never blocks syncing for good.
 */
export async function openRun(
  deps: RunBookkeeping,
  trigger: RunTrigger,
  options: OpenRunOptions = {},
): Promise<RunSummary & { plan: RunPlan }> {
  const { prisma } = deps;
  const staleAfterMs = options.staleRunAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS;
  for (const abandoned of await closeAbandonedRuns(prisma, staleAfterMs)) {
    logAbandoned(deps.logger, abandoned, staleAfterMs);
    options.onAbandoned?.(abandoned);
  }
  // Checked first so that a refused run uses up no run number (reporting users read gaps in
  // sync_runs.id as missing runs); the unique index still decides between two opening at once.
  await refuseIfRunning(prisma, staleAfterMs);
  const plan = await planOf(prisma, options.batchSize);
  const run = await insertRun(prisma, trigger, plan);
  if (run === null) {
    // Another run opened since the check above: refused as any run is while one runs.
    await refuseIfRunning(prisma, staleAfterMs);
    throw new UserFacingError("another sync run opened at the same moment and has already ended: run again", {
      exitCode: ExitCode.runInProgress,
    });
  }
  await deleteRunBatches(prisma, run.runId);
  return { ...run, plan };
}

function logAbandoned(logger: Logger, run: AbandonedRun, staleAfterMs: number): void {
  logger.warn(
    {
      runId: run.runId,
      trigger: run.trigger,
      startedAt: run.startedAt.toISOString(),
      heartbeatAt: run.heartbeatAt.toISOString(),
    },
    `sync run #${run.runId} (${run.trigger}) closed as abandoned: no heartbeat since ${run.heartbeatAt.toISOString()} (over ${staleMinutes(staleAfterMs)}: its process crashed or was killed)`,
  );
}

async function refuseIfRunning(prisma: PrismaClient, staleAfterMs: number): Promise<void> {
  const running = await runningRun(prisma);
  if (running) throw new RunInProgressError(running, staleAfterMs);
}

/** The run's plan, for its progress: accounts tracked meanwhile change it a little, no more. */
async function planOf(prisma: PrismaClient, batchSize: number | undefined): Promise<RunPlan> {
  const accountsPlanned = await countTrackedAccounts(prisma);
  const batchesPlanned = batchSize === undefined ? null : batchSizesFor(accountsPlanned, batchSize).length;
  return { accountsPlanned, batchesPlanned };
}

export interface FinishedRun {
  summary: RunSummary;
  /** True for the one call that closed the run; false when it was closed already. */
  closed: boolean;
}

/**
 * Closes a run exactly once (only a running run is closed), compares the accounts with the
 * integrator's records, and logs the news and its summary. Its status: failed when a batch stopped it
 * (its stop reason); interrupted when `interrupted` (a signal stopped it, `error` says which); failed
 * when `error` is given; partial when some accounts failed; succeeded otherwise.
 * `closed` is false when the run was closed already, by another process or an earlier attempt;
 * nothing is logged then.
 */
export async function completeRun(
  deps: RunBookkeeping,
  runId: number,
  error: string | null = null,
  options: { interrupted?: boolean } = {},
): Promise<FinishedRun> {
  const mismatches = await closeRunAndCompare(deps.prisma, runId, error, options.interrupted === true);
  const summary = await findRun(deps.prisma, runId);
  if (!summary) throw new Error(`sync run #${runId} does not exist`);
  if (mismatches) {
    const logger = deps.logger.child({ runId });
    logMismatches(logger, mismatches);
    logRunClosed(logger, summary);
  }
  return { summary, closed: mismatches !== null };
}
