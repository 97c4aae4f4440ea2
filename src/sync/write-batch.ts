// What one batch writes, in one transaction: its bookkeeping row, the accounts' data and status, their
// versions, the drift rows, and its counts added to the run's.

import { forgetPrismaQueryHistory, type PrismaClient } from "../db/prisma.js";
import {
  lockAccounts,
  markFailed,
  markFound,
  markNotFound,
  readAccounts,
  type StoredState,
  writeSyncedData,
} from "../db/sql/accounts.js";
import { claimBatch, setBatchTotals } from "../db/sql/batches.js";
import { type DriftInsert, insertDrift } from "../db/sql/drift.js";
import type { Db } from "../db/sql/index.js";
import { addBatchCounts, lockRunStatus } from "../db/sql/runs.js";
import { closeStaleVersions, openVersions } from "../db/sql/versions.js";
import { inSpan } from "../observability/tracing/spans.js";
import { type AccountOutcome, outcomeOfFetch, outcomeOfNotFound } from "./drift.js";
import type { FetchResult, RunCounts } from "./types.js";

export interface BatchWrite {
  outcomes: AccountOutcome[];
  counts: RunCounts;
}

export interface BatchIdentity {
  /** The batch's number within its run, from 0. */
  index: number;
  /** Fields Plugchat sent that this version does not know, merged into the run's `unknown_fields`. */
  unknownFields: readonly string[];
  /** Unknown fields whose values were too large to keep, merged into the run's `extra_cut_fields`. */
  extraCutFields: readonly string[];
  /** The process writing it (host:pid), for `sync_run_batches.written_by`. */
  writtenBy: string;
}

/**
 * Compares one batch of fetch results with the stored rows and writes the differences, all in one
 * transaction: the rows are read inside it, after the run's row is locked (which every batch of the
 * run does first, so batches are written one at a time and none records drift twice), and a crash
 * leaves either the whole batch or none of it. Accounts found unchanged after a success are only
 * listed in the batch's row (see splitConfirmed): an unchanged run writes no account row.
 *
 * First the run's row is locked and checked (a run closed meanwhile, e.g. as abandoned, gets nothing:
 * "run_closed"), then the batch's `sync_run_batches` row is inserted: a batch written already (a queue
 * job delivered again after its worker died past the commit) writes nothing ("already_written").
 */
export async function writeBatch(
  prisma: PrismaClient,
  runId: number,
  results: readonly FetchResult[],
  batch: BatchIdentity,
): Promise<BatchWrite | "already_written" | "run_closed"> {
  const attributes = { "plugchat_sync.run_id": runId, "plugchat_sync.batch_index": batch.index };
  return inSpan("sync batch transaction", { attributes }, async (span) => {
    const written = await transaction(prisma, runId, results, batch).finally(forgetPrismaQueryHistory);
    span.setAttributes({ "plugchat_sync.batch_write": typeof written === "string" ? written : "written" });
    return written;
  });
}

function transaction(
  prisma: PrismaClient,
  runId: number,
  results: readonly FetchResult[],
  batch: BatchIdentity,
): Promise<BatchWrite | "already_written" | "run_closed"> {
  return prisma.$transaction(
    async (tx) => {
      if ((await lockRunStatus(tx, runId)) !== "running") return "run_closed" as const;
      if (!(await claimBatch(tx, runId, batch.index, batch.writtenBy))) return "already_written" as const;
      const stored = await readAccounts(
        tx,
        results.map((result) => result.id),
      );
      const outcomes = outcomesOf(results, stored);
      const { confirmed, written } = splitConfirmed(outcomes, stored);
      await lockAccounts(
        tx,
        written.map((outcome) => outcome.id),
      );
      await writeSyncedData(
        tx,
        written.flatMap((outcome) =>
          outcome.kind === "baseline" || outcome.kind === "changed"
            ? [{ id: outcome.id, ...outcome.account, extra: outcome.extra }]
            : [],
        ),
      );
      await writeStatuses(tx, written);
      await writeVersions(tx, runId, written);
      const driftCount = await insertDrift(tx, runId, driftRows(written));
      const counts = countOutcomes(outcomes, driftCount);
      await addBatchCounts(tx, runId, counts, batch.unknownFields, batch.extraCutFields);
      await setBatchTotals(tx, runId, batch.index, counts, confirmed);
      return { outcomes, counts };
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}

/**
 * The accounts whose row needs no write, and the others. An unchanged answer for an account whose last
 * attempt succeeded changes nothing but the two times: it is only confirmed (listed in the batch's row,
 * whose written_at is then its last sync), and its row is neither locked nor written. An unchanged
 * answer after a failure still writes the row: its status changes.
 */
function splitConfirmed(
  outcomes: readonly AccountOutcome[],
  stored: Map<string, StoredState>,
): { confirmed: string[]; written: AccountOutcome[] } {
  const isConfirmed = (outcome: AccountOutcome) =>
    outcome.kind === "unchanged" && stored.get(outcome.id)?.lastStatus === "ok";
  return {
    confirmed: outcomes.filter(isConfirmed).map((outcome) => outcome.id),
    written: outcomes.filter((outcome) => !isConfirmed(outcome)),
  };
}

/** Each result compared with its stored row; an account deleted meanwhile has nothing to compare with. */
function outcomesOf(results: readonly FetchResult[], stored: Map<string, StoredState>): AccountOutcome[] {
  return results.flatMap((result): AccountOutcome[] => {
    const account = stored.get(result.id);
    if (!account) return [];
    if (result.kind === "ok")
      return [outcomeOfFetch(account, { account: result.account, extra: result.extra.values })];
    if (result.kind === "not_found") return [outcomeOfNotFound(account)];
    return [{ kind: "failed", id: result.id, error: result.error }];
  });
}

/**
 * Status columns of the batch's other accounts (writeSyncedData set those of the accounts whose data
 * it wrote), one statement per kind of outcome.
 */
async function writeStatuses(tx: Db, outcomes: readonly AccountOutcome[]): Promise<void> {
  const idsOf = (kinds: AccountOutcome["kind"][]) =>
    outcomes.filter((outcome) => kinds.includes(outcome.kind)).map((outcome) => outcome.id);
  await markFound(tx, idsOf(["unchanged"]));
  await markNotFound(tx, idsOf(["not_found"]));
  await markFailed(
    tx,
    outcomes.flatMap((outcome) =>
      outcome.kind === "failed" ? [{ id: outcome.id, error: outcome.error }] : [],
    ),
  );
}

/**
 * The accounts' versions made equal to their rows, once data and status are written: a version closed
 * and one opened wherever the row changed (a synced field, `extra`, a 404 or a comeback), in the same
 * transaction and at the same instant (now()) as the drift rows. Only the outcomes that can change a
 * versioned column are looked at: an unchanged answer or a failed fetch changes none (a comeback is
 * "changed"), so an unchanged run sends no statement for versions.
 */
async function writeVersions(tx: Db, runId: number, outcomes: readonly AccountOutcome[]): Promise<void> {
  const ids = outcomes
    .filter(
      (outcome) => outcome.kind === "baseline" || outcome.kind === "changed" || outcome.kind === "not_found",
    )
    .map((outcome) => outcome.id);
  await closeStaleVersions(tx, ids);
  await openVersions(tx, runId, ids);
}

function driftRows(outcomes: readonly AccountOutcome[]): DriftInsert[] {
  return outcomes.flatMap((outcome) =>
    "changes" in outcome
      ? outcome.changes.map((change) => ({
          accountId: outcome.id,
          field: change.field,
          from: change.from,
          to: change.to,
        }))
      : [],
  );
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
