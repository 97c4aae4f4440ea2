// `plugchat-sync runs close <id>`: a run whose process is gone, closed by hand rather than after its
// heartbeat has been stale for the stale window. Closed as failed, through the same close as any run
// (once, with the mismatches compared), its error saying it was closed by hand.
import type { RunLiveness } from "../db/sql/runs.js";
import { runLiveness } from "../db/sql/runs.js";
import { UserFacingError } from "../errors.js";
import { staleMinutes } from "./errors.js";
import { completeRun, DEFAULT_STALE_RUN_AFTER_MS } from "./run-lifecycle.js";
import type { RunSummary, SyncDependencies } from "./types.js";

export const CLOSED_BY_HAND = "closed by hand (plugchat-sync runs close)";

/** Why run `runId` may not be closed by hand, in one line; null when it may. Pure. */
export function refusalToClose(
  runId: number,
  run: RunLiveness | null,
  options: { force: boolean; staleAfterMs: number },
): string | null {
  if (!run) return `there is no run #${runId} (plugchat-sync report --runs 20 lists the latest)`;
  if (run.status !== "running") {
    const finished = run.finishedAt ? `, finished ${run.finishedAt.toISOString()}` : "";
    return `run #${runId} is closed already (${run.status}${finished}): nothing to do`;
  }
  const silentMs = run.now.getTime() - run.heartbeatAt.getTime();
  if (options.force || silentMs >= options.staleAfterMs) return null;
  const staleFrom = new Date(run.heartbeatAt.getTime() + options.staleAfterMs);
  return (
    `run #${runId} (${run.trigger}) may still be going: its last heartbeat was ${Math.max(0, Math.round(silentMs / 1000))} s ago ` +
    `(${run.heartbeatAt.toISOString()}). Stop its process if it runs (Ctrl-C on a sync closes its run itself); ` +
    `if it is gone, add --force, or wait until ${staleFrom.toISOString()} (${staleMinutes(options.staleAfterMs)} without heartbeat)`
  );
}

/** Closes run `runId` by hand, as failed; a UserFacingError (exit 1) when it may not be. */
export async function closeRunByHand(
  deps: Pick<SyncDependencies, "prisma" | "logger">,
  runId: number,
  options: { force: boolean; staleAfterMs?: number },
): Promise<RunSummary> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS;
  const refusal = refusalToClose(runId, await runLiveness(deps.prisma, runId), {
    force: options.force,
    staleAfterMs,
  });
  if (refusal) throw new UserFacingError(refusal);
  const finished = await completeRun(deps, runId, CLOSED_BY_HAND);
  // Its process, or the next run, closed it between the look and the close.
  if (!finished.closed) {
    throw new UserFacingError(
      `run #${runId} was closed meanwhile (${finished.summary.status}): nothing to do`,
    );
  }
  return finished.summary;
}
