// sync_run_batches: one row per written batch of a run, inserted in the batch's own transaction, so a
// batch delivered twice finds it and writes nothing the second time.
import type { RunCounts, RunStatus } from "../../sync/types.js";
import type { Db } from "./index.js";

/**
 * Batch rows left by an earlier run with this id (the runs were truncated with RESTART IDENTITY)
 * would make the new run's batches look written already.
 */
export async function deleteRunBatches(db: Db, runId: number): Promise<void> {
  await db.$executeRaw`DELETE FROM sync_run_batches WHERE run_id = ${runId}`;
}

export interface BatchState {
  /** The run's status, or null when the run does not exist. */
  runStatus: RunStatus | null;
  /** Why the run is stopping, when a batch stopped it (token refused) before it was closed. */
  stopReason: string | null;
  /** Whether this batch of the run was already written (it is being delivered again). */
  written: boolean;
}

/** What a batch must know before it fetches anything: whether its run goes on, and whether it is done. */
export async function batchState(db: Db, runId: number, batchIndex: number): Promise<BatchState> {
  const [row] = await db.$queryRaw<{ status: RunStatus; stop_reason: string | null; written: boolean }[]>`
    SELECT r.status, r.stop_reason,
           EXISTS (SELECT 1 FROM sync_run_batches b WHERE b.run_id = r.id AND b.batch_index = ${batchIndex}) AS written
      FROM sync_runs r WHERE r.id = ${runId}`;
  if (!row) return { runStatus: null, stopReason: null, written: false };
  return { runStatus: row.status, stopReason: row.stop_reason, written: row.written };
}

/**
 * Inserts the batch's row; false when it is there already (written before). A concurrent duplicate
 * waits on the row until the first commits, then finds it.
 */
export async function claimBatch(
  db: Db,
  runId: number,
  batchIndex: number,
  writtenBy: string,
): Promise<boolean> {
  const claimed = await db.$executeRaw`
    INSERT INTO sync_run_batches (run_id, batch_index, written_by)
    VALUES (${runId}, ${batchIndex}, ${writtenBy})
    ON CONFLICT (run_id, batch_index) DO NOTHING`;
  return claimed === 1;
}

/**
 * The batch's counts, and the accounts it confirmed: found unchanged after a success, their rows left
 * untouched (the batch's written_at is their last sync; see account_confirmed_at in the migrations).
 */
export async function setBatchTotals(
  db: Db,
  runId: number,
  batchIndex: number,
  counts: RunCounts,
  confirmedIds: readonly string[],
): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_run_batches
       SET accounts = ${counts.accountsTotal}, drift_count = ${counts.driftCount},
           confirmed_ids = ${[...confirmedIds]}::text[],
           first_confirmed_id = (SELECT min(id) FROM unnest(${[...confirmedIds]}::text[]) AS id),
           last_confirmed_id = (SELECT max(id) FROM unnest(${[...confirmedIds]}::text[]) AS id)
     WHERE run_id = ${runId} AND batch_index = ${batchIndex}`;
}
