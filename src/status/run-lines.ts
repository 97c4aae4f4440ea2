// The "Last runs" table's lines: runs that brought nothing new, one after the other, are folded into
// one line ("12 runs, nothing changed"), so that the run with drift is not buried under them. Pure.
import type { RecentRun } from "./queries.js";

export type RunLine = { kind: "run"; run: RecentRun } | { kind: "quiet"; runs: RecentRun[] };

/**
 * Nothing new: succeeded with no change, drift, failure or error, and no change to the tracked set by
 * the account source. Accounts not found are allowed (the Missing panel lists them), but a change in
 * their number starts a new line.
 */
function broughtNothingNew(run: RecentRun): boolean {
  const source = run.source;
  const sourceQuiet =
    source === null ||
    (source.outcome === "applied" && !source.added && !source.retracked && !source.removed);
  return (
    run.status === "succeeded" &&
    run.mark === null &&
    run.changed === 0 &&
    run.driftCount === 0 &&
    run.failed === 0 &&
    run.error === null &&
    sourceQuiet
  );
}

/** The runs (newest first) as lines, at most `limit` of them; a fold needs two runs or more. */
export function runLines(runs: readonly RecentRun[], limit: number): RunLine[] {
  const lines: RunLine[] = [];
  let quiet: RecentRun[] = [];
  const flush = () => {
    if (quiet.length === 1) lines.push({ kind: "run", run: quiet[0] as RecentRun });
    else if (quiet.length > 1) lines.push({ kind: "quiet", runs: quiet });
    quiet = [];
  };
  for (const run of runs) {
    if (broughtNothingNew(run)) {
      if (quiet.length > 0 && quiet[0]?.notFound !== run.notFound) flush();
      quiet.push(run);
    } else {
      flush();
      lines.push({ kind: "run", run });
    }
  }
  flush();
  return lines.slice(0, limit);
}
