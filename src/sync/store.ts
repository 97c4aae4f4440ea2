// Every statement the sync runs against PostgreSQL, in one place. Batches are written with a fixed
// number of set-based statements (unnest arrays), whatever their size.

import type { PrismaClient } from "../db/prisma.js";
import { UserFacingError } from "../errors.js";
import { Prisma } from "../generated/prisma/client.js";
import {
  type AccountOutcome,
  type FieldChange,
  outcomeOfFetch,
  outcomeOfNotFound,
  type StoredAccount,
} from "./drift.js";
import type { AccountSourceRecord, FetchResult, RunCounts, RunSummary, RunTrigger } from "./types.js";

type Transaction = Prisma.TransactionClient;

export class RunInProgressError extends UserFacingError {
  readonly runId: number;
  readonly startedAt: Date;

  constructor(runId: number, startedAt: Date) {
    super(
      `another sync run (#${runId}, started ${startedAt.toISOString()}) is still running: wait for it to finish; a run whose process died is closed automatically once its heartbeat is stale`,
    );
    this.runId = runId;
    this.startedAt = startedAt;
  }
}

/**
 * Opens a run, unless one is running. A running run whose heartbeat is older than `staleAfterMs` was
 * left by a crashed process: it is closed as failed first, so a crash never blocks syncing for good.
 */
export interface RunPlan {
  /** Tracked accounts when the run opened. */
  accountsPlanned: number;
  /** The batches they make, when the batch size was given. */
  batchesPlanned: number | null;
}

export async function openRun(
  prisma: PrismaClient,
  trigger: RunTrigger,
  staleAfterMs: number,
  batchSize?: number,
): Promise<RunSummary & { plan: RunPlan }> {
  await prisma.$executeRaw`
    UPDATE sync_runs
       SET status = 'failed', finished_at = now(),
           error = 'abandoned: its process stopped sending heartbeats (crash or kill)'
     WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => ${staleAfterMs / 1000})`;
  // Checked first so that a refused run uses up no run number (reporting users read gaps in
  // sync_runs.id as missing runs); the unique index still decides between two opening at once.
  const running = await prisma.syncRun.findFirst({ where: { status: "running" } });
  if (running) throw new RunInProgressError(running.id, running.startedAt);
  try {
    // The run's plan, for its progress: accounts tracked meanwhile change it a little, no more.
    const accountsPlanned = await prisma.account.count({ where: { tracked: true } });
    const batchesPlanned = batchSize === undefined ? null : Math.ceil(accountsPlanned / batchSize);
    const run = toSummary(
      await prisma.syncRun.create({ data: { trigger, accountsPlanned, batchesPlanned } }),
    );
    // Batch rows of an earlier run with this id (the runs were truncated with RESTART IDENTITY) would
    // make this run's batches look written already.
    await prisma.$executeRaw`DELETE FROM sync_run_batches WHERE run_id = ${run.runId}`;
    return { ...run, plan: { accountsPlanned, batchesPlanned } };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      const running = await prisma.syncRun.findFirst({ where: { status: "running" } });
      if (running) throw new RunInProgressError(running.id, running.startedAt);
    }
    throw error;
  }
}

/** Records on the run's row what the account source did (`sync_runs.source_*`). */
export async function recordAccountSource(
  prisma: PrismaClient,
  runId: number,
  record: AccountSourceRecord,
): Promise<void> {
  await prisma.syncRun.update({
    where: { id: runId },
    data: {
      sourceOutcome: record.outcome,
      sourceIds: record.ids,
      sourceAdded: record.added,
      sourceRetracked: record.retracked,
      sourceRemoved: record.removed,
      sourceInvalid: record.invalid,
      sourceExamples: record.invalidExamples,
      sourceError: record.error,
      heartbeatAt: new Date(),
    },
  });
}

/** Counts the run's plan again (after the account source changed the tracked set). */
export async function replanRun(prisma: PrismaClient, runId: number, batchSize?: number): Promise<RunPlan> {
  const accountsPlanned = await prisma.account.count({ where: { tracked: true } });
  const batchesPlanned = batchSize === undefined ? null : Math.ceil(accountsPlanned / batchSize);
  await prisma.syncRun.update({ where: { id: runId }, data: { accountsPlanned, batchesPlanned } });
  return { accountsPlanned, batchesPlanned };
}

export async function heartbeat(prisma: PrismaClient, runId: number): Promise<void> {
  await prisma.$executeRaw`UPDATE sync_runs SET heartbeat_at = now() WHERE id = ${runId} AND status = 'running'`;
}

export interface RunningRun {
  runId: number;
  trigger: RunTrigger;
  startedAt: Date;
  heartbeatAt: Date;
}

/** The running run, if any (there is at most one per database). */
export async function runningRun(prisma: PrismaClient): Promise<RunningRun | null> {
  const row = await prisma.syncRun.findFirst({ where: { status: "running" } });
  return row
    ? {
        runId: row.id,
        trigger: row.trigger as RunTrigger,
        startedAt: row.startedAt,
        heartbeatAt: row.heartbeatAt,
      }
    : null;
}

/** A run as it is now, or null when there is no such run. */
export async function findRun(prisma: PrismaClient, runId: number): Promise<RunSummary | null> {
  const row = await prisma.syncRun.findUnique({ where: { id: runId } });
  return row ? toSummary(row) : null;
}

export interface BatchProgress {
  /** The run's status, or null when the run does not exist. */
  runStatus: RunSummary["status"] | null;
  /** Why the run is stopping, when a batch stopped it (token refused) before it was closed. */
  stopReason: string | null;
  /** Whether this batch of the run was already written (it is being delivered again). */
  written: boolean;
}

/** Whether a batch still has work to do: its run is running, not stopping, and the batch not written yet. */
export async function batchProgress(
  prisma: PrismaClient,
  runId: number,
  batchIndex: number,
): Promise<BatchProgress> {
  const rows = await prisma.$queryRaw<{ status: string; error: string | null; written: boolean }[]>`
    SELECT r.status, r.error,
           EXISTS (SELECT 1 FROM sync_run_batches b WHERE b.run_id = r.id AND b.batch_index = ${batchIndex}) AS written
      FROM sync_runs r WHERE r.id = ${runId}`;
  const row = rows[0];
  if (!row) return { runStatus: null, stopReason: null, written: false };
  return { runStatus: row.status as RunSummary["status"], stopReason: row.error, written: row.written };
}

/**
 * Records why a running run must stop (the token was refused), unless a reason is recorded already:
 * the run's other batches see it and skip, and the run is closed as failed with it.
 */
export async function stopRun(prisma: PrismaClient, runId: number, reason: string): Promise<void> {
  await prisma.$executeRaw`
    UPDATE sync_runs SET error = ${reason}, heartbeat_at = now()
     WHERE id = ${runId} AND status = 'running' AND error IS NULL`;
}

/** One page of tracked account ids after `afterId`, in id order (keyset pagination). */
export async function trackedIdsAfter(
  prisma: PrismaClient,
  afterId: string | null,
  limit: number,
): Promise<string[]> {
  const rows = await prisma.account.findMany({
    where: { tracked: true, ...(afterId === null ? {} : { id: { gt: afterId } }) },
    select: { id: true },
    orderBy: { id: "asc" },
    take: limit,
  });
  return rows.map((row) => row.id);
}

export interface BatchWrite {
  outcomes: AccountOutcome[];
  counts: RunCounts;
}

export interface BatchIdentity {
  /** The batch's number within its run, from 0. */
  index: number;
  /** Fields Plugchat sent that this version does not know, merged into the run's `unknown_fields`. */
  unknownFields: readonly string[];
  /** The process writing it (host:pid), for `sync_run_batches.written_by`. */
  writtenBy: string;
}

/**
 * Compares one batch of fetch results with the stored rows and writes the differences, all in one
 * transaction: the rows are locked and read inside it, so a concurrent writer cannot make this batch
 * record drift twice, and a crash leaves either the whole batch or none of it.
 *
 * First, in the same transaction, the run's row is locked and checked (a run closed meanwhile, e.g.
 * as abandoned, gets nothing: "run_closed"), then the batch's `sync_run_batches` row is inserted: a
 * batch written already (a queue job delivered again after its worker died past the commit) writes
 * nothing ("already_written"), and a concurrent duplicate waits on that row, then finds it.
 */
export async function writeBatch(
  prisma: PrismaClient,
  runId: number,
  results: readonly FetchResult[],
  batch: BatchIdentity,
): Promise<BatchWrite | "already_written" | "run_closed"> {
  return prisma.$transaction(
    async (tx) => {
      // The lock every batch's counter update takes anyway, taken first: closing the run waits for
      // the batches being written, and batches of one run write one after the other.
      const [run] = await tx.$queryRaw<{ status: string }[]>`
        SELECT status FROM sync_runs WHERE id = ${runId} FOR NO KEY UPDATE`;
      if (run?.status !== "running") return "run_closed" as const;
      const claimed = await tx.$executeRaw`
        INSERT INTO sync_run_batches (run_id, batch_index, written_by)
        VALUES (${runId}, ${batch.index}, ${batch.writtenBy})
        ON CONFLICT (run_id, batch_index) DO NOTHING`;
      if (claimed === 0) return "already_written" as const;
      const stored = await lockStoredAccounts(
        tx,
        results.map((result) => result.id),
      );
      const outcomes: AccountOutcome[] = [];
      for (const result of results) {
        const account = stored.get(result.id);
        if (!account) continue; // deleted meanwhile: nothing to compare with
        if (result.kind === "ok") outcomes.push(outcomeOfFetch(account, result.account));
        else if (result.kind === "not_found") outcomes.push(outcomeOfNotFound(account));
        else outcomes.push({ kind: "failed", id: result.id, error: result.error });
      }
      await writeSyncedData(tx, outcomes);
      await writeStatuses(tx, outcomes);
      const driftCount = await insertDrift(tx, runId, outcomes);
      const counts = countOutcomes(outcomes, driftCount);
      await tx.$executeRaw`
        UPDATE sync_runs
           SET accounts_total = accounts_total + ${counts.accountsTotal},
               accounts_changed = accounts_changed + ${counts.accountsChanged},
               accounts_unchanged = accounts_unchanged + ${counts.accountsUnchanged},
               accounts_failed = accounts_failed + ${counts.accountsFailed},
               accounts_not_found = accounts_not_found + ${counts.accountsNotFound},
               drift_count = drift_count + ${counts.driftCount},
               unknown_fields = ${mergedUnknownFields(batch.unknownFields)},
               heartbeat_at = now()
         WHERE id = ${runId}`;
      await tx.$executeRaw`
        UPDATE sync_run_batches SET accounts = ${counts.accountsTotal}, drift_count = ${counts.driftCount}
         WHERE run_id = ${runId} AND batch_index = ${batch.index}`;
      return { outcomes, counts };
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}

interface StoredRow {
  id: string;
  external_id: string | null;
  name: string | null;
  active: boolean | null;
  on_start_attendance: string | null;
  on_finish_attendance: string | null;
  on_receive_message: string | null;
  on_sending_message: string | null;
  on_message_status: string | null;
  last_synced_at: Date | null;
  missing_since: Date | null;
}

async function lockStoredAccounts(tx: Transaction, ids: string[]): Promise<Map<string, StoredAccount>> {
  // Locked in id order so that two writers of overlapping batches cannot deadlock.
  const rows = await tx.$queryRaw<StoredRow[]>`
    SELECT id, external_id, name, active, on_start_attendance, on_finish_attendance, on_receive_message,
           on_sending_message, on_message_status, last_synced_at, missing_since
      FROM accounts WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`;
  return new Map(
    rows.map((row) => [
      row.id,
      {
        id: row.id,
        lastSyncedAt: row.last_synced_at,
        missingSince: row.missing_since,
        values: {
          externalId: row.external_id,
          name: row.name,
          active: row.active,
          onStartAttendance: row.on_start_attendance,
          onFinishAttendance: row.on_finish_attendance,
          onReceiveMessage: row.on_receive_message,
          onSendingMessage: row.on_sending_message,
          onMessageStatus: row.on_message_status,
        },
      },
    ]),
  );
}

/** Data columns, for new baselines and changed accounts only: an unchanged account costs no data write. */
async function writeSyncedData(tx: Transaction, outcomes: readonly AccountOutcome[]): Promise<void> {
  const rows = outcomes.flatMap((outcome) =>
    outcome.kind === "baseline" || outcome.kind === "changed" ? [{ id: outcome.id, ...outcome.account }] : [],
  );
  if (rows.length === 0) return;
  const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
  await tx.$executeRaw`
    UPDATE accounts AS a
       SET external_id = i.external_id, name = i.name, active = i.active,
           on_start_attendance = i.on_start_attendance, on_finish_attendance = i.on_finish_attendance,
           on_receive_message = i.on_receive_message, on_sending_message = i.on_sending_message,
           on_message_status = i.on_message_status, updated_at = now()
      FROM unnest(${column("id")}::text[], ${column("externalId")}::text[], ${column("name")}::text[],
                  ${column("active")}::boolean[], ${column("onStartAttendance")}::text[],
                  ${column("onFinishAttendance")}::text[], ${column("onReceiveMessage")}::text[],
                  ${column("onSendingMessage")}::text[], ${column("onMessageStatus")}::text[])
           AS i(id, external_id, name, active, on_start_attendance, on_finish_attendance, on_receive_message,
                on_sending_message, on_message_status)
     WHERE a.id = i.id`;
}

/** Status columns of every account in the batch, one statement per outcome kind. */
async function writeStatuses(tx: Transaction, outcomes: readonly AccountOutcome[]): Promise<void> {
  const found = outcomes.filter((outcome) => outcome.kind !== "not_found" && outcome.kind !== "failed");
  const notFound = outcomes.filter((outcome) => outcome.kind === "not_found");
  const failed = outcomes.flatMap((outcome) => (outcome.kind === "failed" ? [outcome] : []));
  if (found.length > 0) {
    await tx.$executeRaw`
      UPDATE accounts
         SET last_synced_at = now(), last_attempt_at = now(), last_status = 'ok', last_error = NULL,
             consecutive_failures = 0, missing_since = NULL, failing_since = NULL
       WHERE id = ANY(${found.map((outcome) => outcome.id)}::text[])`;
  }
  if (notFound.length > 0) {
    await tx.$executeRaw`
      UPDATE accounts
         SET last_attempt_at = now(), last_status = 'not_found', last_error = NULL, consecutive_failures = 0,
             missing_since = COALESCE(missing_since, now()), failing_since = NULL
       WHERE id = ANY(${notFound.map((outcome) => outcome.id)}::text[])`;
  }
  if (failed.length > 0) {
    await tx.$executeRaw`
      UPDATE accounts AS a
         SET last_attempt_at = now(), last_status = 'failed', last_error = f.error,
             consecutive_failures = a.consecutive_failures + 1,
             failing_since = COALESCE(a.failing_since, now())
        FROM unnest(${failed.map((outcome) => outcome.id)}::text[], ${failed.map((outcome) => outcome.error)}::text[])
             AS f(id, error)
       WHERE a.id = f.id`;
  }
}

/** Drift rows; a batch retried within the same run cannot record the same change twice. */
async function insertDrift(
  tx: Transaction,
  runId: number,
  outcomes: readonly AccountOutcome[],
): Promise<number> {
  const rows: { accountId: string; change: FieldChange }[] = outcomes.flatMap((outcome) =>
    "changes" in outcome ? outcome.changes.map((change) => ({ accountId: outcome.id, change })) : [],
  );
  if (rows.length === 0) return 0;
  return tx.$executeRaw`
    INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value)
    SELECT d.account_id, ${runId}, d.field, d.old_value, d.new_value
      FROM unnest(${rows.map((row) => row.accountId)}::text[], ${rows.map((row) => row.change.field)}::text[],
                  ${rows.map((row) => row.change.from)}::text[], ${rows.map((row) => row.change.to)}::text[])
           AS d(account_id, field, old_value, new_value)
    ON CONFLICT (sync_run_id, account_id, field) DO NOTHING`;
}

function countOutcomes(outcomes: readonly AccountOutcome[], driftCount: number): RunCounts {
  const count = (kind: AccountOutcome["kind"]) => outcomes.filter((outcome) => outcome.kind === kind).length;
  return {
    accountsTotal: outcomes.length,
    // A baseline is a change of the stored data (from nothing), so it counts as changed.
    accountsChanged: count("changed") + count("baseline"),
    accountsUnchanged: count("unchanged"),
    accountsFailed: count("failed"),
    accountsNotFound: count("not_found"),
    driftCount,
  };
}

/** The run's unknown fields with `fields` added: sorted, each once. */
function mergedUnknownFields(fields: readonly string[]): Prisma.Sql {
  return Prisma.sql`ARRAY(SELECT DISTINCT f FROM unnest(COALESCE(unknown_fields, ARRAY[]::text[]) || ${[...fields]}::text[]) AS f ORDER BY f)`;
}

export interface FinishedRun {
  summary: RunSummary;
  /** True for the one call that closed the run; false when it was closed already. */
  closed: boolean;
}

/**
 * Closes a run exactly once (only a running run is updated), deciding its status from its counters:
 * failed when an error stopped it (the reason recorded by `stopRun` first, else `outcome.error`),
 * partial when some accounts failed, succeeded otherwise.
 */
export async function finishRun(
  prisma: PrismaClient,
  runId: number,
  outcome: { error: string | null; unknownFields?: readonly string[] },
): Promise<FinishedRun> {
  const closed = await prisma.$executeRaw`
    UPDATE sync_runs
       SET finished_at = now(), heartbeat_at = now(), error = COALESCE(error, ${outcome.error}::text),
           unknown_fields = ${mergedUnknownFields(outcome.unknownFields ?? [])},
           status = CASE WHEN COALESCE(error, ${outcome.error}::text) IS NOT NULL THEN 'failed'
                         WHEN accounts_failed > 0 THEN 'partial'
                         ELSE 'succeeded' END
     WHERE id = ${runId} AND status = 'running'`;
  const summary = toSummary(await prisma.syncRun.findUniqueOrThrow({ where: { id: runId } }));
  return { summary, closed: closed === 1 };
}

type SyncRunRow = Awaited<ReturnType<PrismaClient["syncRun"]["findUniqueOrThrow"]>>;

export function toSummary(row: SyncRunRow): RunSummary {
  return {
    runId: row.id,
    trigger: row.trigger as RunTrigger,
    status: row.status as RunSummary["status"],
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
    unknownFields: row.unknownFields,
    accountsTotal: row.accountsTotal,
    accountsChanged: row.accountsChanged,
    accountsUnchanged: row.accountsUnchanged,
    accountsFailed: row.accountsFailed,
    accountsNotFound: row.accountsNotFound,
    driftCount: row.driftCount,
    accountSource: accountSourceOf(row),
  };
}

function accountSourceOf(row: SyncRunRow): AccountSourceRecord | null {
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
