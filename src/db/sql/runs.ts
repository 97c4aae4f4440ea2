// sync_runs: one row per run, opened, counted batch by batch, and closed once.
import type { SyncRun } from "../../generated/prisma/client.js";
import type {
  AccountSourceRecord,
  RunCounts,
  RunPlan,
  RunStatus,
  RunSummary,
  RunTrigger,
} from "../../sync/types.js";
import type { Db, Reader } from "./index.js";

/** A running run closed because its heartbeat was stale. */
export interface AbandonedRun {
  runId: number;
  trigger: RunTrigger;
  startedAt: Date;
  /** Its last heartbeat: when its process was last known to be alive. */
  heartbeatAt: Date;
}

/** The error of a run closed as abandoned (the status page marks such runs). */
export const ABANDONED_RUN_ERROR = "abandoned: its process stopped sending heartbeats (crash or kill)";

/**
 * Closes as failed every running run whose heartbeat is older than `staleAfterMs` (its process died),
 * and returns them.
 */
export async function closeAbandonedRuns(db: Db, staleAfterMs: number): Promise<AbandonedRun[]> {
  const rows = await db.$queryRaw<{ id: number; trigger: string; started_at: Date; heartbeat_at: Date }[]>`
    UPDATE sync_runs
       SET status = 'failed', finished_at = now(),
           error = ${ABANDONED_RUN_ERROR}
     WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000})
    RETURNING id, trigger, started_at, heartbeat_at`;
  return rows.map((row) => ({
    runId: row.id,
    trigger: row.trigger as RunTrigger,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
  }));
}

/**
 * A new running run, or null when the unique index on running runs refused it (another run is
 * running: one opened between the caller's check and this insert).
 */
export async function insertRun(db: Db, trigger: RunTrigger, plan: RunPlan): Promise<RunSummary | null> {
  const [row] = await db.$queryRaw<{ id: number }[]>`
    INSERT INTO sync_runs (trigger, accounts_planned, batches_planned)
    VALUES (${trigger}, ${plan.accountsPlanned}::int, ${plan.batchesPlanned}::int)
    ON CONFLICT DO NOTHING
    RETURNING id`;
  return row === undefined ? null : findRun(db, row.id);
}

export async function updateRunPlan(db: Db, runId: number, plan: RunPlan): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_runs SET accounts_planned = ${plan.accountsPlanned}::int, batches_planned = ${plan.batchesPlanned}::int
     WHERE id = ${runId}`;
}

/** Records on the run's row what the account source did (`sync_runs.source_*`). */
export async function recordAccountSource(db: Db, runId: number, record: AccountSourceRecord): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_runs
       SET source_outcome = ${record.outcome}, source_ids = ${record.ids}::int,
           source_added = ${record.added}::int, source_retracked = ${record.retracked}::int,
           source_removed = ${record.removed}::int, source_invalid = ${record.invalid}::int,
           source_invalid_examples = ${[...record.invalidExamples]}::text[], source_error = ${record.error},
           heartbeat_at = now()
     WHERE id = ${runId}`;
}

export async function heartbeat(db: Db, runId: number): Promise<void> {
  await db.$executeRaw`UPDATE sync_runs SET heartbeat_at = now() WHERE id = ${runId} AND status = 'running'`;
}

export interface RunningRun {
  runId: number;
  trigger: RunTrigger;
  startedAt: Date;
  heartbeatAt: Date;
}

/** The running run, if any (there is at most one per database). */
export async function runningRun(db: Db): Promise<RunningRun | null> {
  const [row] = await db.$queryRaw<{ id: number; trigger: string; started_at: Date; heartbeat_at: Date }[]>`
    SELECT id, trigger, started_at, heartbeat_at FROM sync_runs WHERE status = 'running' LIMIT 1`;
  return row
    ? {
        runId: row.id,
        trigger: row.trigger as RunTrigger,
        startedAt: row.started_at,
        heartbeatAt: row.heartbeat_at,
      }
    : null;
}

/** A run as it is now, or null when there is no such run. */
export async function findRun(db: Db, runId: number): Promise<RunSummary | null> {
  const [run] = await runsFrom(db, runId, 1);
  return run ?? null;
}

/** The latest runs, newest first. */
export function recentRuns(db: Reader, limit: number): Promise<RunSummary[]> {
  return runsFrom(db, null, limit);
}

/** Run `runId` (with `limit` 1), or the latest `limit` runs when `runId` is null; newest first. */
async function runsFrom(db: Reader, runId: number | null, limit: number): Promise<RunSummary[]> {
  // Plain SQL, its columns named as the Prisma model's fields: `report` reads it without Prisma.
  const rows = await db.$queryRaw<SummaryRow[]>`
    SELECT id, trigger, status, started_at AS "startedAt", finished_at AS "finishedAt", error,
           unknown_fields AS "unknownFields", extra_cut_fields AS "extraCutFields",
           accounts_total AS "accountsTotal", accounts_changed AS "accountsChanged",
           accounts_unchanged AS "accountsUnchanged", accounts_failed AS "accountsFailed",
           accounts_not_found AS "accountsNotFound", drift_count AS "driftCount",
           source_outcome AS "sourceOutcome", source_ids AS "sourceIds", source_added AS "sourceAdded",
           source_retracked AS "sourceRetracked", source_removed AS "sourceRemoved",
           source_invalid AS "sourceInvalid", source_invalid_examples AS "sourceExamples",
           source_error AS "sourceError", mismatches_open AS "mismatchesOpen",
           mismatches_opened AS "mismatchesOpened", mismatches_resolved AS "mismatchesResolved"
      FROM sync_runs
     WHERE ${runId}::int IS NULL OR id = ${runId}::int
     ORDER BY id DESC
     LIMIT ${limit}`;
  return rows.map(toSummary);
}

/**
 * Records why a running run must stop (a refused token), unless a reason is recorded already: its
 * other batches read `stop_reason` and skip. `error` gets the reason too, at once, for reporting.
 */
export async function recordStopReason(db: Db, runId: number, reason: string): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_runs SET stop_reason = ${reason}, error = COALESCE(error, ${reason}), heartbeat_at = now()
     WHERE id = ${runId} AND status = 'running' AND stop_reason IS NULL`;
}

/** Adds accounts fetched by one process since its last report to a running run's progress. */
export async function addFetchedAccounts(db: Db, runId: number, accounts: number): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_runs SET accounts_fetched = accounts_fetched + ${accounts}
     WHERE id = ${runId} AND status = 'running'`;
}

/**
 * Locks the run's row for the rest of the transaction and gives its status (null: no such run). Every
 * batch's counter update takes this lock anyway; taken first, closing the run waits for the batches
 * being written, and the batches of one run write one after the other.
 */
export async function lockRunStatus(db: Db, runId: number): Promise<RunStatus | null> {
  const [run] = await db.$queryRaw<{ status: RunStatus }[]>`
    SELECT status FROM sync_runs WHERE id = ${runId} FOR NO KEY UPDATE`;
  return run?.status ?? null;
}

/** Adds a written batch's counts to the run's, and merges in the unknown fields it met. */
export async function addBatchCounts(
  db: Db,
  runId: number,
  counts: RunCounts,
  unknownFields: readonly string[],
  extraCutFields: readonly string[] = [],
): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_runs
       SET accounts_total = accounts_total + ${counts.accountsTotal},
           accounts_changed = accounts_changed + ${counts.accountsChanged},
           accounts_unchanged = accounts_unchanged + ${counts.accountsUnchanged},
           accounts_failed = accounts_failed + ${counts.accountsFailed},
           accounts_not_found = accounts_not_found + ${counts.accountsNotFound},
           drift_count = drift_count + ${counts.driftCount},
           unknown_fields = ARRAY(SELECT DISTINCT f
                                    FROM unnest(COALESCE(unknown_fields, ARRAY[]::text[]) || ${[...unknownFields]}::text[]) AS f
                                   ORDER BY f),
           extra_cut_fields = ARRAY(SELECT DISTINCT f
                                      FROM unnest(COALESCE(extra_cut_fields, ARRAY[]::text[]) || ${[...extraCutFields]}::text[]) AS f
                                     ORDER BY f),
           heartbeat_at = now()
     WHERE id = ${runId}`;
}

/**
 * Closes a running run, deciding its status: failed when it was stopped (`stop_reason`); interrupted
 * when `interrupted` (a signal stopped it; `error` says which); failed when `error` is given; partial
 * when some accounts failed; succeeded otherwise. True when this call closed it.
 */
export async function closeRun(
  db: Db,
  runId: number,
  error: string | null,
  interrupted = false,
): Promise<boolean> {
  const closed = await db.$executeRaw`
    UPDATE sync_runs
       SET finished_at = now(), heartbeat_at = now(), error = COALESCE(stop_reason, error, ${error}::text),
           status = CASE WHEN stop_reason IS NOT NULL THEN 'failed'
                         WHEN ${interrupted}::boolean THEN 'interrupted'
                         WHEN ${error}::text IS NOT NULL THEN 'failed'
                         WHEN accounts_failed > 0 THEN 'partial'
                         ELSE 'succeeded' END
     WHERE id = ${runId} AND status = 'running'`;
  return closed === 1;
}

/** A run's state, with the database's clock (`runs close` decides on it). */
export interface RunLiveness {
  status: RunStatus;
  trigger: RunTrigger;
  finishedAt: Date | null;
  heartbeatAt: Date;
  /** The database's time, to compare with the heartbeat it wrote. */
  now: Date;
}

export async function runLiveness(db: Db, runId: number): Promise<RunLiveness | null> {
  const [row] = await db.$queryRaw<
    { status: RunStatus; trigger: RunTrigger; finished_at: Date | null; heartbeat_at: Date; now: Date }[]
  >`SELECT status, trigger, finished_at, heartbeat_at, now() AS now FROM sync_runs WHERE id = ${runId}`;
  return row
    ? {
        status: row.status,
        trigger: row.trigger,
        finishedAt: row.finished_at,
        heartbeatAt: row.heartbeat_at,
        now: row.now,
      }
    : null;
}

/** A run's row with what its progress needs: the number of batches written so far. */
export interface RunProgressRow {
  id: number;
  trigger: string;
  status: string;
  started_at: Date;
  heartbeat_at: Date;
  accounts_total: number;
  accounts_fetched: number;
  accounts_planned: number | null;
  batches_planned: number | null;
  accounts_changed: number;
  accounts_unchanged: number;
  accounts_failed: number;
  accounts_not_found: number;
  drift_count: number;
  batches_done: number;
}

/** Run `runId`'s progress row, or with null the running run's; undefined when there is none. */
export async function runProgressRow(db: Db, runId: number | null): Promise<RunProgressRow | undefined> {
  const [row] = await db.$queryRaw<RunProgressRow[]>`
    SELECT r.id, r.trigger, r.status, r.started_at, r.heartbeat_at, r.accounts_total, r.accounts_fetched,
           r.accounts_planned,
           r.batches_planned, r.accounts_changed, r.accounts_unchanged, r.accounts_failed,
           r.accounts_not_found, r.drift_count,
           (SELECT count(*) FROM sync_run_batches b WHERE b.run_id = r.id)::int AS batches_done
      FROM sync_runs r
     WHERE ${runId}::int IS NULL AND r.status = 'running' OR r.id = ${runId}::int
     ORDER BY r.id DESC LIMIT 1`;
  return row;
}

/** What a run's summary is made of: the columns `recentRuns` selects. */
type SummaryRow = Pick<
  SyncRun,
  | "id"
  | "trigger"
  | "status"
  | "startedAt"
  | "finishedAt"
  | "error"
  | "unknownFields"
  | "extraCutFields"
  | "accountsTotal"
  | "accountsChanged"
  | "accountsUnchanged"
  | "accountsFailed"
  | "accountsNotFound"
  | "driftCount"
  | "sourceOutcome"
  | "sourceIds"
  | "sourceAdded"
  | "sourceRetracked"
  | "sourceRemoved"
  | "sourceInvalid"
  | "sourceExamples"
  | "sourceError"
  | "mismatchesOpen"
  | "mismatchesOpened"
  | "mismatchesResolved"
>;

function toSummary(row: SummaryRow): RunSummary {
  return {
    runId: row.id,
    trigger: row.trigger as RunTrigger,
    status: row.status as RunStatus,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
    unknownFields: row.unknownFields,
    extraCutFields: row.extraCutFields,
    accountsTotal: row.accountsTotal,
    accountsChanged: row.accountsChanged,
    accountsUnchanged: row.accountsUnchanged,
    accountsFailed: row.accountsFailed,
    accountsNotFound: row.accountsNotFound,
    driftCount: row.driftCount,
    accountSource: accountSourceOf(row),
    mismatches:
      row.mismatchesOpen === null
        ? null
        : {
            open: row.mismatchesOpen,
            opened: row.mismatchesOpened ?? 0,
            resolved: row.mismatchesResolved ?? 0,
          },
  };
}

function accountSourceOf(row: SummaryRow): AccountSourceRecord | null {
  const outcome = row.sourceOutcome as AccountSourceRecord["outcome"] | null;
  if (outcome === null) return null;
  return {
    outcome,
    ids: row.sourceIds,
    added: row.sourceAdded ?? 0,
    retracked: row.sourceRetracked ?? 0,
    removed: row.sourceRemoved ?? 0,
    invalid: row.sourceInvalid ?? 0,
    invalidExamples: row.sourceExamples,
    error: row.sourceError,
  };
}
