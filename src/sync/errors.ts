// The errors a caller of a run's steps tells apart.
import { ExitCode, UserFacingError } from "../errors.js";
import type { RunTrigger } from "./types.js";

/** The running run a refused run names. */
interface GoingRun {
  runId: number;
  trigger: RunTrigger;
  startedAt: Date;
  heartbeatAt: Date;
}

/** A run was asked to open while another is running (at most one runs per database). */
export class RunInProgressError extends UserFacingError {
  readonly runId: number;
  readonly startedAt: Date;
  readonly heartbeatAt: Date;
  /** From when the going run counts as abandoned (closed by the next run) if no heartbeat comes. */
  readonly abandonedFrom: Date;

  constructor(run: GoingRun, staleAfterMs: number) {
    const abandonedFrom = new Date(run.heartbeatAt.getTime() + staleAfterMs);
    super(
      `another sync run (#${run.runId}, ${run.trigger}, started ${run.startedAt.toISOString()}) is still running, ` +
        `its last heartbeat at ${run.heartbeatAt.toISOString()}: wait for it to finish. If its process is gone, ` +
        `the first run from ${abandonedFrom.toISOString()} (${staleMinutes(staleAfterMs)} without heartbeat) closes it as abandoned; ` +
        `to close it now: plugchat-sync runs close ${run.runId} --force`,
      { exitCode: ExitCode.runInProgress },
    );
    this.runId = run.runId;
    this.startedAt = run.startedAt;
    this.heartbeatAt = run.heartbeatAt;
    this.abandonedFrom = abandonedFrom;
  }
}

/** The stale window as people say it: `5 min`, `90 s`. */
export function staleMinutes(staleAfterMs: number): string {
  const seconds = Math.round(staleAfterMs / 1000);
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** The batch was interrupted (shutdown) before it wrote anything: it can be run again from scratch. */
export class BatchInterruptedError extends Error {
  constructor(reason: unknown) {
    super(`batch interrupted before its write: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = "BatchInterruptedError";
  }
}
