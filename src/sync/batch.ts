// One batch of a run: fetched from Plugchat, then written in one transaction that also records the
// batch, so a batch run twice writes once. Skips quickly when its run is closed or stopping.
import { hostname } from "node:os";
import { batchState } from "../db/sql/batches.js";
import { recordStopReason } from "../db/sql/runs.js";
import { inSpan } from "../observability/tracing/spans.js";
import { fetchAccounts } from "./fetch-accounts.js";
import { logOutcomes } from "./run-logging.js";
import type { RunFetchShare, SharedFetchLimit } from "./shared-fetch-limit.js";
import { NO_COUNTS } from "./summary-counts.js";
import type { RunCounts, SyncDependencies } from "./types.js";
import { writeBatch } from "./write-batch.js";

/** This process, as `sync_run_batches.written_by` and the queue's worker name record it. */
export const PROCESS_NAME = `${hostname()}:${process.pid}`;

export interface BatchRef {
  runId: number;
  /** The batch's number within its run, from 0. */
  batchIndex: number;
  ids: readonly string[];
}

export interface BatchOptions {
  /** Plugchat requests in flight at once. */
  concurrency: number;
  /**
   * Aborting it stops the batch before it writes anything (the rejection is a `BatchInterruptedError`);
   * once the write has begun, the batch finishes.
   */
  signal?: AbortSignal;
  /**
   * Shared with the other batches this process fetches at once (a worker's overlapping batch jobs):
   * its limit replaces `concurrency`, and a refused token stops every open batch of the run.
   */
  sharedLimit?: SharedFetchLimit;
  /** Told of each account fetched (before the batch is written), for the run's progress. */
  onFetched?: () => void;
}

/**
 * What became of a batch: `written`, or skipped because it was written already (delivered twice),
 * because its run was closed meanwhile, or because another batch stopped the run (token refused).
 */
type BatchStatus = "written" | "already_written" | "run_closed" | "run_stopped";

export interface BatchResult {
  status: BatchStatus;
  counts: RunCounts;
  /** The field of every drift row written, e.g. for metrics. */
  driftFields: string[];
  /** Set when this batch stopped the run (token refused); the reason is recorded on the run. */
  stopReason: string | null;
}

/**
 * Fetches one batch of accounts and writes what changed. A refused token records the reason on the
 * run, which stops its other batches. `share`: the limiter and stop this batch shares with the other
 * open batches of its run (`runSync`'s); without one, taken from `options.sharedLimit`, if any.
 */
export function runBatch(
  deps: SyncDependencies,
  batch: BatchRef,
  options: BatchOptions,
  share?: RunFetchShare,
): Promise<BatchResult> {
  const attributes = {
    "plugchat_sync.run_id": batch.runId,
    "plugchat_sync.batch_index": batch.batchIndex,
    "plugchat_sync.batch_accounts": batch.ids.length,
  };
  return inSpan("sync batch", { attributes }, async (span) => {
    const result = await runBatchWithShare(deps, batch, options, share);
    span.setAttributes({ "plugchat_sync.batch_status": result.status });
    return result;
  });
}

async function runBatchWithShare(
  deps: SyncDependencies,
  batch: BatchRef,
  options: BatchOptions,
  share: RunFetchShare | undefined,
): Promise<BatchResult> {
  if (share || !options.sharedLimit) return fetchAndWrite(deps, batch, options, share);
  const opened = options.sharedLimit.open(batch.runId);
  try {
    return await fetchAndWrite(deps, batch, options, opened.share);
  } finally {
    opened.release();
  }
}

async function fetchAndWrite(
  deps: SyncDependencies,
  batch: BatchRef,
  options: BatchOptions,
  share: RunFetchShare | undefined,
): Promise<BatchResult> {
  const { prisma } = deps;
  const { runId, batchIndex } = batch;
  const state = await batchState(prisma, runId, batchIndex);
  if (state.runStatus !== "running") return skipped("run_closed");
  if (state.stopReason !== null) return skipped("run_stopped");
  if (state.written) return skipped("already_written");

  const { results, stopReason } = await fetchAccounts(deps.client, batch.ids, options, share);
  // Another open batch of the run stopped it (token refused, or an error) and cut this one's fetch
  // short: it writes nothing, as a batch starting after the stop would. (A batch fetched whole is written.)
  const cutShort = results.length < batch.ids.length;
  if (share?.stop.signal.aborted && stopReason === null && cutShort) return skipped("run_stopped");
  if (stopReason) await recordStopReason(prisma, runId, stopReason);
  const unknownFields = new Set(
    results.flatMap((result) => (result.kind === "ok" ? result.unknownFields : [])),
  );
  const extraCutFields = new Set(results.flatMap((result) => (result.kind === "ok" ? result.extra.cut : [])));
  const written = await writeBatch(prisma, runId, results, {
    index: batchIndex,
    unknownFields: [...unknownFields],
    extraCutFields: [...extraCutFields],
    writtenBy: PROCESS_NAME,
  });
  if (written === "already_written" || written === "run_closed") return skipped(written);
  logOutcomes(deps.logger.child({ runId }), written.outcomes);
  const driftFields = written.outcomes.flatMap((outcome) =>
    "changes" in outcome ? outcome.changes.map((change) => change.field) : [],
  );
  return { status: "written", counts: written.counts, driftFields, stopReason };
}

function skipped(status: BatchStatus): BatchResult {
  return { status, counts: NO_COUNTS, driftFields: [], stopReason: null };
}
