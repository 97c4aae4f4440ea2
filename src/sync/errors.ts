// The errors a caller of a run's steps tells apart.
import { UserFacingError } from "../errors.js";

/** A run was asked to open while another is running (at most one runs per database). */
export class RunInProgressError extends UserFacingError {
  readonly runId: number;
  readonly startedAt: Date;

  constructor(runId: number, startedAt: Date) {
    super(
      `another sync run (#${runId}, started ${startedAt.toISOString()}) is still running: wait for it to finish; a run whose process died is closed automatically once its heartbeat is stale`,
    );
    this.runId = runId;
    this.startedAt = startedAt;
  }
}

/** The batch was interrupted (shutdown) before it wrote anything: it can be run again from scratch. */
export class BatchInterruptedError extends Error {
  constructor(reason: unknown) {
    super(`batch interrupted before its write: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = "BatchInterruptedError";
  }
}
