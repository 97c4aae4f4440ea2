// The first step of every run when an account source is configured: the tracked set is made equal
// to the ids of the integrator's database. Whatever happens to the source, the run goes on; what it
// did is logged, recorded on the run's row, and (through the run's summary) counted and notified.
import { AccountSourceError, scrubSourceSecrets } from "../accounts/source/errors.js";
import { type AccountSourceSettings, readSourceRows } from "../accounts/source/read-source.js";
import { type ReconcileResult, reconcileTrackedIds } from "../accounts/source/reconcile.js";
import type { PrismaClient } from "../db/prisma.js";
import { heartbeat, recordAccountSource } from "../db/sql/runs.js";
import type { Logger } from "../logger.js";
import type { AccountSourceRecord } from "./types.js";

/** Source values read and written per statement. */
/** @public bench/ reads it (through build/) to page the source as a run does. */
export const SOURCE_PAGE_SIZE = 5_000;

export const SOURCE_OVERRIDE_ADVICE =
  "raise ACCOUNT_SOURCE_MAX_REMOVAL (up to 1) for one run, or untrack them by hand with `plugchat-sync accounts import --replace <file> --force`";

/**
 * Reads the source and reconciles the tracked set, for run `runId` (open, so no batch is writing).
 * Never throws for the source's sake: an unreachable source, a failing query, a refusal by the
 * removal limit, even a failure of the sync database here, leave the tracked set as it was.
 */
export async function reconcileAccountSource(
  deps: { prisma: PrismaClient; logger: Logger },
  runId: number,
  source: AccountSourceSettings,
  options: { heartbeatEveryMs?: number } = {},
): Promise<AccountSourceRecord> {
  const logger = deps.logger.child({ runId });
  // A slow source (up to its timeout) must not make the run look abandoned.
  const beat = setInterval(() => {
    heartbeat(deps.prisma, runId).catch(() => undefined);
  }, options.heartbeatEveryMs ?? 30_000);
  beat.unref();
  let record: AccountSourceRecord;
  try {
    const result = await reconcileTrackedIds(
      deps.prisma,
      readSourceRows({
        url: source.url,
        query: source.query,
        timeoutMs: source.timeoutMs,
        pageSize: SOURCE_PAGE_SIZE,
      }),
      {
        rowsFrom: "ACCOUNT_SOURCE_QUERY",
        limit: { maxShare: source.maxRemovalShare, howToOverride: SOURCE_OVERRIDE_ADVICE },
        timeoutMs: Math.max(600_000, source.timeoutMs * 4),
      },
    );
    record = recordOf(result);
    logResult(logger, result);
  } catch (error) {
    const reason =
      error instanceof AccountSourceError
        ? error.message
        : `the account source could not be reconciled: ${scrubSourceSecrets(error instanceof Error ? error.message : String(error), source.url)}`;
    record = { ...EMPTY, outcome: "skipped", error: reason };
    logger.warn(
      { reason, ...(error instanceof AccountSourceError ? { kind: error.kind } : {}) },
      "account source skipped: the run goes on with the tracked accounts as they were",
    );
  } finally {
    clearInterval(beat);
  }
  await recordAccountSource(deps.prisma, runId, record);
  return record;
}

const EMPTY: Omit<AccountSourceRecord, "outcome"> = {
  ids: null,
  added: 0,
  retracked: 0,
  removed: 0,
  invalid: 0,
  invalidExamples: [],
  error: null,
};

function recordOf(result: ReconcileResult): AccountSourceRecord {
  const applied = result.outcome === "applied";
  return {
    outcome: applied ? "applied" : "refused",
    ids: result.counts.sourceIds,
    // A refused reconciliation changed nothing; what it would have changed is in its reason.
    added: applied ? result.counts.added : 0,
    retracked: applied ? result.counts.retracked : 0,
    removed: applied ? result.counts.removed : 0,
    invalid: result.invalid,
    invalidExamples: result.invalidExamples.map((entry) => `${entry.value} (${entry.reason})`),
    error: result.refusal,
  };
}

function logResult(logger: Logger, result: ReconcileResult): void {
  const { counts } = result;
  if (result.invalid > 0) {
    logger.warn(
      {
        invalid: result.invalid,
        examples: result.invalidExamples.map((entry) => `${entry.value} (${entry.reason})`),
      },
      "account source returned values that are not account ids: they are skipped, never requested",
    );
  }
  if (result.expectations.invalid > 0) {
    logger.warn(
      { invalid: result.expectations.invalid, examples: result.expectations.invalidExamples },
      "account source returned expected values that cannot be values of their field: they are skipped",
    );
  }
  if (result.outcome === "refused") {
    logger.warn(
      {
        reason: result.refusal,
        sourceIds: counts.sourceIds,
        tracked: counts.tracked,
        removed: counts.removed,
      },
      "account source refused by the removal limit: the run goes on with the tracked accounts as they were",
    );
    return;
  }
  logger.info(
    {
      sourceIds: counts.sourceIds,
      added: counts.added,
      retracked: counts.retracked,
      removed: counts.removed,
      invalid: result.invalid,
      nulls: result.nulls,
      duplicates: result.duplicates,
      ...(result.expectations.fields.length > 0
        ? {
            expectedFields: result.expectations.fields,
            expectationsSet: result.expectations.set,
            expectationsRemoved: result.expectations.removed,
          }
        : {}),
      ...(counts.added > 0 ? { addedIds: result.samples.added } : {}),
      ...(counts.retracked > 0 ? { retrackedIds: result.samples.retracked } : {}),
      ...(counts.removed > 0 ? { removedIds: result.samples.removed } : {}),
    },
    "account source reconciled",
  );
}
