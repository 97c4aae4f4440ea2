import type { RunSummary } from "./types.js";

/** A run's counts under the short names that log lines and notifications share. */
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
