// One pruning pass: removes what the retention settings let go, table by table (the runs last, once
// nothing references them), a small chunk at a time. Each chunk is one short statement of its own with
// a pause after it, so a pass never holds a lock a run needs for long, and may run during a run
// (the statements never touch the running run's rows nor the latest run's: src/db/sql/retention.ts).
// One pruner at a time per database (an advisory lock); a dry run only counts.
import type { PrismaClient } from "../db/prisma.js";
import {
  type AppliedRule,
  beforePrune,
  countDue,
  countDueRuns,
  type PrunedTable,
  pruneChunk,
  pruneRunsChunk,
  RETENTION_RULES,
  tryPruneLock,
} from "../db/sql/retention.js";
import { sleep } from "../lib/sleep.js";

const DAY_MS = 86_400_000;

/** Days each table keeps its rows; null: forever. */
export type RetentionDays = Readonly<Record<PrunedTable, number | null>>;

export interface PruneOptions {
  days: RetentionDays;
  /** Count what would be removed, remove nothing. */
  dryRun?: boolean;
  /** Rows removed per statement. Default 5,000. */
  chunkSize?: number;
  /** Pause after a full chunk, letting other transactions through. Default 50 ms. */
  pauseMs?: number;
  /** Stops the pass between two chunks (what was removed so far is reported). */
  signal?: AbortSignal;
  /** When another pruner holds the lock: wait for it (polling every second), or give up at once. */
  whenBusy?: "wait" | "skip";
  /** Told once when the pass waits for another pruner. */
  onWaiting?: () => void;
  /** The time the cutoffs are counted back from. Default now. */
  now?: Date;
}

export interface PruneResult {
  /** Rows removed (or, for a dry run, that would be), per table that exists; 0 for those kept forever. */
  removed: Partial<Record<PrunedTable, number>>;
  /** False when another pruner was at work and this pass gave up (whenBusy "skip"). */
  ran: boolean;
}

/** The oldest time a table keeps, per table: rows before it are due; undefined keeps all. */
function cutoffs(days: RetentionDays, now: Date): Record<PrunedTable, Date | undefined> {
  const cutoff = (kept: number | null) =>
    kept === null ? undefined : new Date(now.getTime() - kept * DAY_MS);
  return {
    sync_run_batches: cutoff(days.sync_run_batches),
    sync_runs: cutoff(days.sync_runs),
    account_drift: cutoff(days.account_drift),
    account_mismatch_spans: cutoff(days.account_mismatch_spans),
    account_versions: cutoff(days.account_versions),
  };
}

/** Total rows in a result, over every table. */
export function totalRemoved(result: PruneResult): number {
  return Object.values(result.removed).reduce((sum, count) => sum + (count ?? 0), 0);
}

/** Every table's rule, with its cutoff. */
function appliedRules(options: PruneOptions): AppliedRule[] {
  const due = cutoffs(options.days, options.now ?? new Date());
  return RETENTION_RULES.map((rule) => ({ rule, cutoff: due[rule.table] }));
}

/** Runs one pruning pass (or counts it, for a dry run). */
export async function prune(prisma: PrismaClient, options: PruneOptions): Promise<PruneResult> {
  const runsCutoff = cutoffs(options.days, options.now ?? new Date()).sync_runs;
  const rules = appliedRules(options);
  if (options.dryRun) {
    const removed: PruneResult["removed"] = {};
    for (const { rule, cutoff } of rules)
      removed[rule.table] = cutoff ? await countDue(prisma, rule, cutoff) : 0;
    removed.sync_runs = runsCutoff ? await countDueRuns(prisma, rules, runsCutoff) : 0;
    return { removed, ran: true };
  }
  return withPruneLock(prisma, options, async () => {
    const removed: PruneResult["removed"] = {};
    for (const { rule, cutoff } of rules) {
      if (cutoff) await beforePrune(prisma, rule, cutoff);
      removed[rule.table] = cutoff
        ? await inChunks(options, (limit) => pruneChunk(prisma, rule, cutoff, limit))
        : 0;
    }
    removed.sync_runs = runsCutoff
      ? await inChunks(options, (limit) => pruneRunsChunk(prisma, rules, runsCutoff, limit))
      : 0;
    return { removed, ran: true };
  });
}

/** Repeats a chunk until one removes less than a full chunk (or the pass is stopped); the total removed. */
async function inChunks(options: PruneOptions, chunk: (limit: number) => Promise<number>): Promise<number> {
  const limit = options.chunkSize ?? 5_000;
  let total = 0;
  while (!options.signal?.aborted) {
    const removed = await chunk(limit);
    total += removed;
    if (removed < limit) break;
    await sleep(options.pauseMs ?? 50, options.signal).catch(() => undefined);
  }
  return total;
}

/** How long the lock may be held by one pass; a pass that is still going then runs on without it. */
const LOCK_HELD_AT_MOST_MS = 6 * 3_600_000;

/**
 * Runs `work` while holding the pruning lock: a transaction that does nothing but hold an advisory
 * lock (no row lock, and no snapshot: see tryPruneLock, so it holds vacuum back no more than an idle
 * connection); the pass's own statements run outside it, each a short transaction of its own.
 */
async function withPruneLock(
  prisma: PrismaClient,
  options: PruneOptions,
  work: () => Promise<PruneResult>,
): Promise<PruneResult> {
  let waiting = false;
  for (;;) {
    const result = await prisma.$transaction(async (tx) => ((await tryPruneLock(tx)) ? work() : undefined), {
      maxWait: 30_000,
      timeout: LOCK_HELD_AT_MOST_MS,
    });
    if (result) return result;
    if (options.whenBusy !== "wait" || options.signal?.aborted) return { removed: {}, ran: false };
    if (!waiting) options.onWaiting?.();
    waiting = true;
    await sleep(1_000, options.signal).catch(() => undefined);
  }
}
