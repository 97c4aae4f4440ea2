import { formatTable, formatTime } from "../cli/format.js";
import type { DriftEntry } from "../db/sql/drift.js";
import { showControlsInLine, terminalJson } from "../lib/terminal-text.js";
import { describeAccountSource, hasMismatchNews } from "../sync/summary-counts.js";
import type { RunSummary } from "../sync/types.js";

/** The most drift rows a report shows; narrower filters show the rest. */
export const DRIFT_LIMIT = 1000;

export function formatRuns(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return "No sync runs yet: run `plugchat-sync sync`.";
  const withSource = runs.some((run) => run.accountSource !== null);
  const withMismatches = runs.some((run) => hasMismatchNews(run.mismatches));
  const table = formatTable(
    [
      "run",
      "trigger",
      "status",
      "started",
      "seconds",
      "total",
      "changed",
      "not found",
      "failed",
      "drift",
      ...(withSource ? ["source"] : []),
      ...(withMismatches ? ["mismatches"] : []),
    ],
    runs.map((run) => [
      `#${run.runId}`,
      run.trigger,
      run.status,
      formatTime(run.startedAt),
      run.finishedAt ? ((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1) : "-",
      String(run.accountsTotal),
      String(run.accountsChanged),
      String(run.accountsNotFound),
      String(run.accountsFailed),
      String(run.driftCount),
      ...(withSource ? [sourceCell(run)] : []),
      ...(withMismatches ? [mismatchCell(run)] : []),
    ]),
  );
  // Why a source was refused or skipped is too long for a cell: one line per such run, below.
  const notes = runs.flatMap((run) =>
    run.accountSource && run.accountSource.outcome !== "applied"
      ? [`#${run.runId} account source ${describeAccountSource(run.accountSource)}`]
      : run.accountSource && run.accountSource.invalid > 0
        ? [`#${run.runId} account source: ${describeAccountSource(run.accountSource)}`]
        : [],
  );
  return [`Recent runs\n${table}`, ...notes.map(showControlsInLine)].join("\n");
}

/** The mismatches column: `3 (+1 -2)` (open, and opened and resolved by the run), `-` before any. */
function mismatchCell(run: RunSummary): string {
  const counts = run.mismatches;
  return counts ? `${counts.open} (+${counts.opened} -${counts.resolved})` : "-";
}

/** The source column: `+3 -1` (added and re-tracked, removed), `refused`, `skipped`, or `-` without one. */
function sourceCell(run: RunSummary): string {
  const source = run.accountSource;
  if (!source) return "-";
  if (source.outcome !== "applied") return source.outcome;
  const invalid = source.invalid > 0 ? ` (${source.invalid} invalid)` : "";
  return `+${source.added + source.retracked} -${source.removed}${invalid}`;
}

export function formatDrift(drift: readonly DriftEntry[], since: Date): string {
  const title = `Drift since ${formatTime(since)}`;
  if (drift.length === 0) return `${title}\nnothing changed`;
  // Quoted as JSON, so that "" and " " can be told apart; control characters as \uXXXX escapes.
  const shown = (value: string | null) => (value === null ? "(null)" : terminalJson(value));
  const more =
    drift.length === DRIFT_LIMIT ? `\n(first ${DRIFT_LIMIT} shown: narrow with --since or --account)` : "";
  return `${title}\n${formatTable(
    ["detected", "account", "name", "field", "from", "to", "run"],
    drift.map((entry) => [
      formatTime(entry.detectedAt),
      entry.accountId,
      entry.accountName ?? "",
      entry.field,
      shown(entry.from),
      shown(entry.to),
      `#${entry.runId}`,
    ]),
  )}${more}`;
}
