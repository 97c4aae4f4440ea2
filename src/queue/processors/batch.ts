// One batch of account ids: fetched from Plugchat and written in one transaction (exactly once, by
// its sync_run_batches row). Handed back to the queue untouched when the worker stops past its timeout.
import { type Job, WaitingError } from "bullmq";
import { oneLine } from "../../lib/text.js";
import { runBatch } from "../../sync/batch.js";
import { BatchInterruptedError } from "../../sync/errors.js";
import { FetchedAccountsReporter } from "../../sync/fetched-accounts.js";
import type { SharedFetchLimit } from "../../sync/shared-fetch-limit.js";
import type { BatchJobData } from "../jobs.js";
import { callHookSafely, type ProcessorContext } from "./context.js";

export interface BatchJobResult {
  status: string;
  accounts: number;
}

/** `sharedLimit`: the requests in flight shared by the batch jobs this process runs at once. */
export function createBatchProcessor(
  ctx: ProcessorContext,
  sharedLimit: SharedFetchLimit,
): (job: Job<BatchJobData>, token: string | undefined, signal?: AbortSignal) => Promise<BatchJobResult> {
  // The run's progress in the database moves as this process fetches, not only per batch written.
  const fetched = new FetchedAccountsReporter(ctx.deps.prisma, ctx.logger);
  return async function processBatch(job, token, signal) {
    const { runId, batchIndex, ids } = job.data;
    const logger = ctx.logger.child({ runId, batchIndex, jobId: job.id });
    logger.debug({ accounts: ids.length, attempt: job.attemptsMade + 1 }, "sync batch started");
    try {
      const result = await runBatch(
        ctx.deps,
        { runId, batchIndex, ids },
        {
          concurrency: ctx.concurrency,
          sharedLimit,
          onFetched: () => fetched.fetched(runId),
          ...(signal ? { signal } : {}),
        },
      );
      if (result.status === "written") {
        callHookSafely(
          logger,
          () => ctx.metrics.observeBatch?.(result.counts, result.driftFields),
          "metrics observeBatch",
        );
        logger.debug(
          {
            accounts: result.counts.accountsTotal,
            changed: result.counts.accountsChanged,
            failed: result.counts.accountsFailed,
            drift: result.counts.driftCount,
          },
          "sync batch written",
        );
      } else {
        logger.debug({ status: result.status }, "sync batch skipped");
      }
      return { status: result.status, accounts: result.counts.accountsTotal };
    } catch (error) {
      if (error instanceof BatchInterruptedError && token !== undefined) {
        // Shutdown past its timeout: the batch wrote nothing, so it goes back to the queue as it was,
        // without spending an attempt, for another worker (or this one, restarted).
        await job.moveToWait(token);
        logger.warn("sync batch handed back to the queue: the worker is stopping");
        throw new WaitingError();
      }
      logger.warn(
        {
          err: oneLine((error as Error).message),
          attempt: job.attemptsMade + 1,
          attempts: job.opts.attempts,
        },
        "sync batch attempt failed: retried with backoff",
      );
      throw error;
    }
  };
}
