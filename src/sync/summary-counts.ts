import type { AccountSourceRecord, MismatchCounts, RunCounts, RunSummary } from "./types.js";

/** A run's counts under the short names that log lines and notifications share (their public fields). */
export function summaryCounts(summary: RunSummary) {
  return {
    total: summary.accountsTotal,
    changed: summary.accountsChanged,
    unchanged: summary.accountsUnchanged,
    failed: summary.accountsFailed,
    notFound: summary.accountsNotFound,
    drift: summary.driftCount,
  };
}

/** What the account source did, in one line: `+3 added, 1 re-tracked, -2 removed, 1 invalid skipped`. */
export function describeAccountSource(source: AccountSourceRecord): string {
  if (source.outcome === "skipped") return `skipped: ${source.error ?? "unknown reason"}`;
  if (source.outcome === "refused") return `refused: ${source.error ?? "removal limit"}`;
  const invalid =
    source.invalid > 0 ? `, ${source.invalid} invalid skipped (${source.invalidExamples.join(", ")})` : "";
  return `${source.ids ?? 0} ids: ${source.added} added, ${source.retracked} re-tracked, ${source.removed} removed${invalid}`;
}

/** Whether a run has anything to say about mismatches (none expected, none found: nothing). */
export function hasMismatchNews(counts: MismatchCounts | null): counts is MismatchCounts {
  return counts !== null && counts.open + counts.opened + counts.resolved > 0;
}

/** `3 open (1 new, 2 resolved)`. */
export function describeMismatches(counts: MismatchCounts): string {
  return `${counts.open} open (${counts.opened} new, ${counts.resolved} resolved)`;
}

/** The counts of a batch or run that wrote nothing. */
export const NO_COUNTS: RunCounts = {
  accountsTotal: 0,
  accountsChanged: 0,
  accountsUnchanged: 0,
  accountsFailed: 0,
  accountsNotFound: 0,
  driftCount: 0,
};

export function addCounts(a: RunCounts, b: RunCounts): RunCounts {
  return {
    accountsTotal: a.accountsTotal + b.accountsTotal,
    accountsChanged: a.accountsChanged + b.accountsChanged,
    accountsUnchanged: a.accountsUnchanged + b.accountsUnchanged,
    accountsFailed: a.accountsFailed + b.accountsFailed,
    accountsNotFound: a.accountsNotFound + b.accountsNotFound,
    driftCount: a.driftCount + b.driftCount,
  };
}
