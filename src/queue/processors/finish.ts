// The flow's parent: every batch is done (or failed for good), so the run is closed, once.
import type { Job } from "bullmq";
import { oneLine, truncate } from "../../lib/text.js";
import { completeRun } from "../../sync/run-lifecycle.js";
import type { FinishJobData, FinishResult } from "../jobs.js";
import { callHookSafely, type ProcessorContext } from "./context.js";

export function createFinishProcessor(
  ctx: ProcessorContext,
): (job: Job<FinishJobData>) => Promise<FinishResult> {
  const { logger } = ctx;
  return async function finish(job) {
    const { runId, batches } = job.data;
    const failures = Object.entries(await job.getIgnoredChildrenFailures());
    const error = failures.length > 0 ? lostBatchesError(failures, batches) : null;
    const finished = await completeRun(ctx.deps, runId, error);
    if (finished.closed) {
      callHookSafely(logger, () => ctx.metrics.observeRun?.(finished.summary), "metrics observeRun");
      if (ctx.onRunFinished) {
        try {
          await ctx.onRunFinished(finished.summary);
        } catch (thrown) {
          logger.warn({ runId, err: (thrown as Error).message }, "after-run hook failed (notification)");
        }
      }
    }
    return { runId, status: finished.summary.status };
  };
}

/** The run's error when batches failed for good: how many, which, and the first reason. */
function lostBatchesError(failures: [key: string, reason: string][], batches: number): string {
  const lost = failures
    .map(([key]) => Number(/batch-(\d+)$/.exec(key)?.[1]))
    .filter((index) => Number.isInteger(index))
    .sort((a, b) => a - b);
  const reason = truncate(oneLine(failures[0]?.[1] ?? "unknown error"), 300);
  return `${failures.length} of ${batches} batches failed after every attempt, so their accounts were not synced (batch ${lost.join(", ")}): ${reason}`;
}
