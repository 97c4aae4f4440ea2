// What a run logs: per account only what a reader needs to know, and one summary line per run.
import type { Logger } from "../logger.js";
import type { AccountOutcome } from "./drift.js";
import { hasMismatchNews, summaryCounts } from "./summary-counts.js";
import type { RunSummary } from "./types.js";

/**
 * Per-account lines only when something happened to the account, so that a run of 100,000 accounts
 * logs what changed and not every account: drift at info (one line per field), a failure or a
 * disappearance at warn (once: an account that stays missing is logged at debug on the next runs), a
 * first fetch at debug. Called after the batch's commit, so a line never tells of a change the
 * database does not hold.
 */
export function logOutcomes(logger: Logger, outcomes: readonly AccountOutcome[]): void {
  for (const outcome of outcomes) {
    const accountId = outcome.id;
    if (outcome.kind === "baseline") logger.debug({ accountId }, "account baseline");
    if (outcome.kind === "changed") {
      for (const { field, from, to } of outcome.changes)
        logger.info({ accountId, field, from, to }, "account drift");
    }
    if (outcome.kind === "not_found") logNotFound(logger, outcome);
    if (outcome.kind === "failed") logger.warn({ accountId, error: outcome.error }, "account sync failed");
  }
}

function logNotFound(logger: Logger, outcome: Extract<AccountOutcome, { kind: "not_found" }>): void {
  const accountId = outcome.id;
  const [exists] = outcome.changes;
  if (exists) {
    const { field, from, to } = exists;
    logger.warn({ accountId, field, from, to }, "account disappeared from Plugchat (404)");
  } else if (outcome.newlyMissing) {
    logger.warn({ accountId }, "account not found on Plugchat (404): never seen there");
  } else {
    logger.debug({ accountId }, "account still not found on Plugchat (404)");
  }
}

/**
 * The lines of a closed run: fields Plugchat sent that this version does not model, those whose values
 * were too large to keep, then its summary.
 */
export function logRunClosed(logger: Logger, summary: RunSummary): void {
  if (summary.unknownFields.length > 0) {
    logger.warn(
      { fields: summary.unknownFields },
      "Plugchat answered with fields this version does not model: the API changed; their values are kept in accounts.extra",
    );
  }
  // A run stopped on purpose (interrupted) is no error; one that failed is.
  if (summary.extraCutFields.length > 0) {
    logger.warn(
      { fields: summary.extraCutFields },
      "Plugchat sent values of fields this version does not model that are too large (or not storable) to keep in accounts.extra: they were cut",
    );
  }
  const level = summary.status === "succeeded" ? "info" : summary.status === "failed" ? "error" : "warn";
  logger[level](
    {
      status: summary.status,
      trigger: summary.trigger,
      ...summaryCounts(summary),
      durationMs: summary.finishedAt ? summary.finishedAt.getTime() - summary.startedAt.getTime() : null,
      ...(summary.error ? { error: summary.error } : {}),
      ...(summary.accountSource ? { accountSource: summary.accountSource.outcome } : {}),
      ...(hasMismatchNews(summary.mismatches) ? { mismatches: summary.mismatches } : {}),
    },
    "sync run finished",
  );
}
