// A run's start job (from the job scheduler, or `plugchat-sync trigger`): opens a run and queues it as a flow of
// batch jobs under one "finish" parent; skipped when a run is going.
import type { Job } from "bullmq";
import { trackedIdsAfter } from "../../db/sql/accounts.js";
import { findRun } from "../../db/sql/runs.js";
import { batchSizesFor } from "../../sync/batch-sizes.js";
import { RunInProgressError } from "../../sync/errors.js";
import { startRun } from "../../sync/run-lifecycle.js";
import type { RunSummary } from "../../sync/types.js";
import {
  BATCH_JOB,
  BATCHES_QUEUE,
  type BatchJobData,
  batchJobOptions,
  FINISH_JOB,
  type FinishJobData,
  finishJobId,
  finishJobOptions,
  RUNS_QUEUE,
  type StartRunJobData,
  type StartRunResult,
} from "../jobs.js";
import { callHookSafely, type ProcessorContext } from "./context.js";

/** Ids read per query when a run is planned. */
const PLANNING_PAGE_SIZE = 50_000;

/**
 * The batch jobs of a run: every tracked account id, in order, cut as `batchSizesFor` cuts them
 * (`ctx.batchSize` a job, the last ones smaller).
 */
async function planBatches(ctx: ProcessorContext, run: RunSummary) {
  const ids = await allTrackedIds(ctx);
  const children = [];
  let start = 0;
  for (const [batchIndex, size] of batchSizesFor(ids.length, ctx.batchSize).entries()) {
    children.push({
      name: BATCH_JOB,
      queueName: ctx.queueName(BATCHES_QUEUE),
      data: { runId: run.runId, batchIndex, ids: ids.slice(start, start + size) } satisfies BatchJobData,
      opts: batchJobOptions(run, batchIndex, ctx.retry),
    });
    start += size;
  }
  return { children, accounts: ids.length };
}

/**
 * Every tracked id, in order, in few queries: one query per batch was 1-2% of a run, and pages of
 * 5,000 still made planning 20,000 accounts take twice as long as one query (docs/benchmarks.md).
 */
async function allTrackedIds(ctx: ProcessorContext): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const page = await trackedIdsAfter(ctx.deps.prisma, ids.at(-1) ?? null, PLANNING_PAGE_SIZE);
    for (const id of page) ids.push(id);
    if (page.length < PLANNING_PAGE_SIZE) return ids;
  }
}

export function createStartRunProcessor(
  ctx: ProcessorContext,
): (job: Job<StartRunJobData>) => Promise<StartRunResult> {
  const { deps, logger, runsQueue } = ctx;
  const { prisma } = deps;

  return async function processStartRunJob(job) {
    const { trigger } = job.data;
    let run: RunSummary | null;
    // A run this attempt opened has no flow yet (the flow's ids derive from the run), and is running.
    let openedByThisAttempt = false;
    if (job.data.runId === undefined) {
      try {
        run = await startRun(deps, trigger, {
          staleRunAfterMs: ctx.staleRunAfterMs,
          batchSize: ctx.batchSize,
          onAbandoned: (abandoned) =>
            callHookSafely(logger, () => ctx.metrics.abandonedRun?.(abandoned), "metrics abandonedRun"),
        });
        openedByThisAttempt = true;
      } catch (error) {
        if (!(error instanceof RunInProgressError)) throw error;
        run = await runLeftByThisStartRunJob(job, error.runId);
        if (!run) {
          logger.warn(
            {
              jobId: job.id,
              trigger,
              runningRunId: error.runId,
              runningSince: error.startedAt.toISOString(),
              runningHeartbeatAt: error.heartbeatAt.toISOString(),
            },
            "sync fire skipped: another run is still going",
          );
          callHookSafely(logger, () => ctx.metrics.skippedRunStart?.(), "metrics skippedRunStart");
          return { outcome: "skipped", runningRunId: error.runId, reason: error.message };
        }
        logger.warn(
          { jobId: job.id, trigger, runId: run.runId, attempt: job.attemptsStarted },
          "sync fire delivered again: continuing the run it opened before its worker stopped",
        );
      }
      // A retried start job (its worker died) continues this run instead of being skipped because of it.
      await job.updateData({ ...job.data, runId: run.runId });
    } else {
      run = await findRun(prisma, job.data.runId);
      if (!run) return { outcome: "planned", runId: job.data.runId, batches: 0 };
    }
    const { runId } = run;
    if (!openedByThisAttempt) {
      const existing = await runsQueue.getJob(finishJobId(run));
      if (existing) return { outcome: "planned", runId, batches: (existing.data as FinishJobData).batches };
      if (run.status !== "running") return { outcome: "planned", runId, batches: 0 };
    }

    const { children, accounts } = await planBatches(ctx, run);
    await ctx.flows.add({
      name: FINISH_JOB,
      queueName: ctx.queueName(RUNS_QUEUE),
      data: { runId, batches: children.length } satisfies FinishJobData,
      opts: finishJobOptions(run, ctx.retry),
      children,
    });
    logger.info({ runId, trigger, batches: children.length, accounts }, "sync run queued in batches");
    return { outcome: "planned", runId, batches: children.length };
  };

  /**
   * The run an earlier attempt of this start job opened, when that attempt stopped (its worker killed, or a
   * database error) after opening the run but before recording its id on the job: the running run is
   * then one that no flow belongs to. Without this the start job would be skipped because of its own run,
   * which would stay open, with no batches, until its heartbeat went stale (5 minutes).
   * Adopting a run that another start job opened at the same moment is harmless: the flow's job ids derive
   * from the run, so the second add of the same flow adds nothing.
   */
  async function runLeftByThisStartRunJob(
    job: Job<StartRunJobData>,
    runId: number,
  ): Promise<RunSummary | null> {
    if (job.attemptsStarted <= 1 && job.attemptsMade === 0 && job.stalledCounter === 0) return null;
    const run = await findRun(prisma, runId);
    if (run?.status !== "running" || run.trigger !== job.data.trigger) return null;
    // Opened before this start job was queued (a minute allowed for clocks apart): another start job's run.
    if (run.startedAt.getTime() < job.timestamp - 60_000) return null;
    if (await runsQueue.getJob(finishJobId(run))) return null;
    return run;
  }
}
