// Retention: which old rows of the tables that grow are due for pruning, and the statements that
// count them and remove them a small chunk at a time. Each table is one rule of RETENTION_RULES; the
// runs themselves come last (pruneRunsChunk), once nothing references them any more.
//
// No statement touches a row of the running run or of the latest run (PROTECTED_RUNS): a run only
// ever writes rows that name the running run, so pruning never meets a row a run is writing, and
// the foreign keys to sync_runs (ON DELETE RESTRICT) never refuse a removal.
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "./index.js";

/** A table that grows and can be pruned. `sync_runs` is pruned after the others (see pruneRunsChunk). */
export type PrunedTable =
  | "sync_run_batches"
  | "account_drift"
  | "account_mismatch_spans"
  | "account_versions"
  | "sync_runs";

/** The tables with a rule of their own, pruned in this order before the runs. */
type RuleTable = Exclude<PrunedTable, "sync_runs">;

/** The running run and the latest one (0 when there is none, so that NOT IN never meets a null). */
const PROTECTED_RUNS = Prisma.sql`(SELECT id FROM sync_runs WHERE status = 'running'
                                  UNION ALL SELECT coalesce(max(id), 0) FROM sync_runs)`;

/** Runs that started before the cutoff, closed and not the latest: their rows may go. */
function oldRun(run: Prisma.Sql, cutoff: Date): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM sync_runs o
                             WHERE o.id = ${run} AND o.started_at < ${cutoff}
                               AND o.id NOT IN ${PROTECTED_RUNS})`;
}

export interface RetentionRule {
  readonly table: RuleTable;
  /** The table's rows (alias `t`) due for pruning with this cutoff. */
  due(cutoff: Date): Prisma.Sql;
  /**
   * The order chunks remove rows in, oldest first, when it matters: a history cut between two chunks
   * then still starts at its oldest remaining row, with no hole further on.
   */
  readonly chunkOrder?: Prisma.Sql;
  /** Columns of `t` naming a run: a run stays while a row that stays names it. */
  readonly runColumns: readonly string[];
  /** A statement run once before the table's chunks, for what must not go with the rows. */
  beforePrune?(cutoff: Date): Prisma.Sql;
}

/**
 * Folds into the accounts' rows the confirmations (sync_run_batches.confirmed_ids) about to be pruned:
 * an account whose latest unchanged success is in a due batch row gets that time in its row, or it
 * would seem synced last at its row's older time. Only such accounts are written (usually none: a
 * tracked account is confirmed again by every run). The conditions on `a` hold on the row as it is
 * when written, so a batch writing it meanwhile is never overwritten with an older time.
 */
const foldPrunedConfirmations = (due: Prisma.Sql) => Prisma.sql`
  WITH due AS (SELECT t.written_at, t.confirmed_ids FROM sync_run_batches t WHERE ${due}),
       held AS (SELECT DISTINCT unnest(due.confirmed_ids) AS id FROM due),
       latest AS (SELECT o.id, account_confirmed_at(o.id, o.last_attempt_at) AS at
                    FROM accounts o JOIN held ON held.id = o.id WHERE o.last_status = 'ok')
  UPDATE accounts AS a
     SET last_synced_at = GREATEST(a.last_synced_at, latest.at),
         last_attempt_at = GREATEST(a.last_attempt_at, latest.at)
    FROM latest
   WHERE a.id = latest.id AND a.last_status = 'ok' AND a.last_attempt_at < latest.at
     AND EXISTS (SELECT 1 FROM due WHERE due.written_at = latest.at AND latest.id = ANY(due.confirmed_ids))`;

/** Batch rows due: old, and not of the running run (a batch delivered again finds its row). */
const batchesDue = (cutoff: Date) =>
  Prisma.sql`t.written_at < ${cutoff} AND t.run_id NOT IN ${PROTECTED_RUNS}`;

/** Bookkeeping of the batches written (sync_run_batches), and the history tables. */
export const RETENTION_RULES: readonly RetentionRule[] = [
  {
    table: "sync_run_batches",
    // Never a batch of the running run: a batch delivered again finds its row and writes nothing twice.
    due: batchesDue,
    // No foreign key to sync_runs (on purpose): a pruned run never waits for its batches.
    runColumns: [],
    beforePrune: (cutoff) => foldPrunedConfirmations(batchesDue(cutoff)),
  },
  {
    table: "account_drift",
    // A run's drift goes with the run's age, all of it, never a part decided by the time of a batch.
    due: (cutoff) => oldRun(Prisma.sql`t.sync_run_id`, cutoff),
    // Runs in order: each account's drift still reads as an unbroken chain from its oldest row.
    chunkOrder: Prisma.sql`t.sync_run_id`,
    runColumns: ["sync_run_id"],
  },
  {
    table: "account_mismatch_spans",
    // Closed spans only; an open one is a disagreement still going on.
    due: (cutoff) =>
      Prisma.sql`t.ended_at < ${cutoff} AND t.ended_run_id NOT IN ${PROTECTED_RUNS}
                 AND t.began_run_id NOT IN ${PROTECTED_RUNS}`,
    runColumns: ["began_run_id", "ended_run_id"],
  },
  {
    table: "account_versions",
    // Never the current version (valid_to null): each account keeps its history from the oldest
    // version left, without a gap, up to now. (A version of the running or latest run is current, or
    // closed by that run, so recent: excluded all the same, as every row of those runs is.)
    due: (cutoff) => Prisma.sql`t.valid_to < ${cutoff} AND t.run_id NOT IN ${PROTECTED_RUNS}`,
    chunkOrder: Prisma.sql`t.valid_to`,
    runColumns: ["run_id"],
  },
];

/** How many rows of the rule's table are due. */
export async function countDue(db: Db, rule: RetentionRule, cutoff: Date): Promise<number> {
  const [row] = await db.$queryRaw<{ due: number }[]>`
    SELECT count(*)::int AS due FROM ${Prisma.raw(rule.table)} t WHERE ${rule.due(cutoff)}`;
  return row?.due ?? 0;
}

/** The rule's statement to run before its chunks, if it has one. */
export async function beforePrune(db: Db, rule: RetentionRule, cutoff: Date): Promise<void> {
  if (rule.beforePrune) await db.$executeRaw(rule.beforePrune(cutoff));
}

/** Removes at most `limit` due rows of the rule's table, in its own short statement; how many it removed. */
export async function pruneChunk(db: Db, rule: RetentionRule, cutoff: Date, limit: number): Promise<number> {
  const order = rule.chunkOrder ? Prisma.sql`ORDER BY ${rule.chunkOrder}` : Prisma.empty;
  return db.$executeRaw`
    DELETE FROM ${Prisma.raw(rule.table)} WHERE ctid IN (
      SELECT t.ctid FROM ${Prisma.raw(rule.table)} t WHERE ${rule.due(cutoff)} ${order} LIMIT ${limit})`;
}

/** A rule whose table exists, with its cutoff (undefined: kept forever). */
export interface AppliedRule {
  rule: RetentionRule;
  cutoff: Date | undefined;
}

/** Runs old enough, closed and not the latest. */
function oldRunRow(cutoff: Date): Prisma.Sql {
  return Prisma.sql`r.started_at < ${cutoff} AND r.status <> 'running' AND r.id NOT IN ${PROTECTED_RUNS}`;
}

/**
 * Removes at most `limit` runs started before the cutoff that no row of the given tables names any
 * more (the rules of the tables that exist). Separate NOT EXISTS per column, so each is an anti-join.
 */
export async function pruneRunsChunk(
  db: Db,
  referencing: readonly AppliedRule[],
  cutoff: Date,
  limit: number,
): Promise<number> {
  const unreferenced = referencing.flatMap(({ rule }) =>
    rule.runColumns.map(
      (column) =>
        Prisma.sql`NOT EXISTS (SELECT 1 FROM ${Prisma.raw(rule.table)} t WHERE t.${Prisma.raw(column)} = r.id)`,
    ),
  );
  return db.$executeRaw`
    DELETE FROM sync_runs WHERE id IN (
      SELECT r.id FROM sync_runs r
       WHERE ${Prisma.join([oldRunRow(cutoff), ...unreferenced], " AND ")}
       ORDER BY r.id LIMIT ${limit})`;
}

/**
 * How many runs pruneRunsChunk would remove after the other rules removed their due rows: those named
 * only by rows that are due themselves. (A dry run removes nothing, and must say what a pass would.)
 */
export async function countDueRuns(
  db: Db,
  referencing: readonly AppliedRule[],
  cutoff: Date,
): Promise<number> {
  const unreferenced = referencing.flatMap(({ rule, cutoff: ruleCutoff }) =>
    rule.runColumns.map((column) => {
      const stays = ruleCutoff ? Prisma.sql`AND (${rule.due(ruleCutoff)}) IS NOT TRUE` : Prisma.empty;
      return Prisma.sql`NOT EXISTS (SELECT 1 FROM ${Prisma.raw(rule.table)} t
                                     WHERE t.${Prisma.raw(column)} = r.id ${stays})`;
    }),
  );
  const [row] = await db.$queryRaw<{ due: number }[]>`
    SELECT count(*)::int AS due FROM sync_runs r
     WHERE ${Prisma.join([oldRunRow(cutoff), ...unreferenced], " AND ")}`;
  return row?.due ?? 0;
}

/**
 * Takes the pruning lock for the transaction `db` is, if free; whether it got it. Without parameters
 * on purpose: such a statement is sent as a simple query, which keeps no portal, so the transaction
 * holding the lock holds no snapshot either (one would keep vacuum, and the index's clean-up of the
 * rows this pass removes, waiting for as long as the pass lasts).
 */
export async function tryPruneLock(db: Db): Promise<boolean> {
  const [row] = await db.$queryRaw<{ locked: boolean }[]>`
    SELECT pg_try_advisory_xact_lock(hashtext('plugchat-sync:prune')) AS locked`;
  return row?.locked === true;
}
