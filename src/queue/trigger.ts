// Producing side of the queue, for `plugchat-sync trigger`: queue a manual run's start job, and optionally follow
// it to its run's end. Fails fast when the queue backend is down (a producer backend does not wait).
import { Job, type Queue } from "bullmq";
import type { PrismaClient } from "../db/prisma.js";
import { findRun, type RunningRun, runningRun } from "../db/sql/runs.js";
import { UserFacingError } from "../errors.js";
import { sleep } from "../lib/sleep.js";
import { DEFAULT_STALE_RUN_AFTER_MS } from "../sync/run-lifecycle.js";
import type { RunSummary } from "../sync/types.js";
import type { QueueBackend } from "./backend/index.js";
import {
  DEFAULT_RETRY_OPTIONS,
  RUNS_QUEUE,
  START_RUN_JOB,
  type StartRunJobData,
  type StartRunResult,
  startRunJobOptions,
} from "./jobs.js";

/** A run is going: the manual run was not queued, or was skipped by the worker. */
export class RunAlreadyGoingError extends UserFacingError {
  constructor(runId: number, detail: string) {
    super(
      `a sync run is in progress (#${runId}${detail}): no new run was started; try again when it has finished (plugchat-sync report --runs 1)`,
    );
  }
}

export interface Producer {
  queue: Queue<StartRunJobData>;
  /** Runs a call on the queue; a lost connection becomes one clear line. */
  call<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The runs queue of a producer backend (opened with connectProducerBackend). */
export function openProducer(backend: QueueBackend): Producer {
  const queue = backend.queue<StartRunJobData>(RUNS_QUEUE);
  return {
    queue,
    call: async (work) => {
      try {
        return await work();
      } catch (error) {
        throw backend.describeUnreachable(error) ?? error;
      }
    },
    close: async () => {
      await queue.close().catch(() => undefined);
      await backend.close();
    },
  };
}

/** The running run when it is alive (heartbeat not stale), else null: a stale one will be closed. */
export async function liveRunningRun(prisma: PrismaClient, now = Date.now()): Promise<RunningRun | null> {
  const run = await runningRun(prisma);
  if (!run || run.heartbeatAt.getTime() < now - DEFAULT_STALE_RUN_AFTER_MS) return null;
  return run;
}

interface IdleWaitOptions {
  pollMs?: number;
  /** Gives up (a UserFacingError) when a run is still going by then; default: never. */
  deadline?: number;
  /** Called once for each run waited for. */
  onWaiting?: (run: RunningRun) => void;
}

/**
 * Waits until no live run is going, so that a manual run queued next is not skipped by the workers.
 * A run that goes stale meanwhile counts as ended: the next run closes it.
 */
async function waitUntilNoRunGoing(prisma: PrismaClient, options: IdleWaitOptions = {}): Promise<void> {
  let announced: number | undefined;
  for (;;) {
    const running = await liveRunningRun(prisma);
    if (!running) return;
    if (announced !== running.runId) {
      announced = running.runId;
      options.onWaiting?.(running);
    }
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      throw new UserFacingError(
        `run #${running.runId} was still going at the --timeout: no manual run was started; follow it with plugchat-sync report --runs 1`,
      );
    }
    await sleep(options.pollMs ?? 500);
  }
}

/** Queues a manual run's start job; a worker opens the run when it takes it. Returns the job id. */
export async function enqueueManualRun(producer: Producer): Promise<string> {
  const job = await producer.call(() =>
    producer.queue.add(START_RUN_JOB, { trigger: "manual" }, startRunJobOptions(DEFAULT_RETRY_OPTIONS)),
  );
  if (job.id === undefined) throw new Error("BullMQ returned a job without an id");
  return job.id;
}

interface WaitOptions {
  pollMs?: number;
  /** Called once when no worker has taken the start job after `slowAfterMs`. */
  onSlow?: () => void;
  slowAfterMs?: number;
  /** Gives up (a UserFacingError) when nothing is decided by then; default: never. */
  deadline?: number;
}

/** Waits until a worker has handled the start job: its run opened and queued, or the start job skipped. */
async function waitForStartRunJob(
  producer: Producer,
  jobId: string,
  options: WaitOptions = {},
): Promise<StartRunResult> {
  const started = Date.now();
  let warned = false;
  for (;;) {
    const { state, result } = await readStartRunJob(producer, jobId);
    if (result) return result;
    if (!warned && state === "waiting" && Date.now() - started > (options.slowAfterMs ?? 15_000)) {
      warned = true;
      options.onSlow?.();
    }
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      throw new UserFacingError(
        "no worker took the manual run before the --timeout: it stays queued and runs when a worker starts (plugchat-sync worker, with the same queue settings)",
      );
    }
    await sleep(options.pollMs ?? 200);
  }
}

/**
 * What a worker made of the start job, or undefined when it has not done with it by `withinMs`: the
 * run it opened, or `skipped` with the run that was going (a run that opened after trigger looked).
 */
export async function startRunJobOutcome(
  producer: Producer,
  jobId: string,
  options: { withinMs: number; pollMs?: number },
): Promise<StartRunResult | undefined> {
  const giveUpAt = Date.now() + options.withinMs;
  for (;;) {
    const { result } = await readStartRunJob(producer, jobId);
    if (result || Date.now() > giveUpAt) return result;
    await sleep(options.pollMs ?? 200);
  }
}

/** The start job's state, and its result once completed; a failed or vanished job is one clear line. */
async function readStartRunJob(
  producer: Producer,
  jobId: string,
): Promise<{ state: string; result?: StartRunResult | undefined }> {
  const job = await producer.call(() => Job.fromId<StartRunJobData, StartRunResult>(producer.queue, jobId));
  if (!job) throw new UserFacingError(`the manual run's job ${jobId} disappeared from the queue`);
  const state = await producer.call(() => job.getState());
  // Read again: the job read above may predate its completion, without its return value.
  if (state === "completed") {
    const completed = await producer.call(() => Job.fromId(producer.queue, jobId));
    return { state, result: completed?.returnvalue };
  }
  if (state === "failed") throw new UserFacingError(`the manual run could not start: ${job.failedReason}`);
  return { state };
}

export interface ManualRunOptions extends WaitOptions, IdleWaitOptions {
  /** Called with the job id each time a manual run's start job is queued. */
  onQueued?: (jobId: string) => Promise<void> | void;
}

/**
 * Starts a manual run after any run in progress, and returns it once a worker has opened it. Another
 * run can open between the look and a worker taking the start job (a scheduled one): the start job is then
 * skipped, and the manual run waits for that run too, so it reads Plugchat after the request.
 */
export async function startManualRunWhenIdle(
  prisma: PrismaClient,
  producer: Producer,
  options: ManualRunOptions = {},
): Promise<{ runId: number; batches: number }> {
  for (;;) {
    await waitUntilNoRunGoing(prisma, options);
    const jobId = await enqueueManualRun(producer);
    await options.onQueued?.(jobId);
    const started = await waitForStartRunJob(producer, jobId, options);
    if (started.outcome === "planned") return started;
  }
}

export interface RunWaitOptions {
  pollMs?: number;
  /** A run whose heartbeat is older than this was abandoned. Default 5 min. */
  staleAfterMs?: number;
  /** Gives up (a UserFacingError) when the run is still going by then; default: never. */
  deadline?: number;
  /** Called at every poll with the run as it stands (for progress). */
  onPoll?: (run: RunSummary) => void;
}

/**
 * Waits until the run is closed, then returns it. Stops waiting, with one line, when the run was
 * abandoned (no worker refreshes its heartbeat: every worker stopped, or its jobs were lost) or the
 * deadline passes.
 */
export async function waitForRun(
  prisma: PrismaClient,
  runId: number,
  options: RunWaitOptions = {},
): Promise<RunSummary> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS;
  for (;;) {
    const run = await findRun(prisma, runId);
    if (!run) throw new UserFacingError(`run #${runId} does not exist`);
    if (run.status !== "running") return run;
    options.onPoll?.(run);
    const live = await runningRun(prisma);
    if (live?.runId === runId && live.heartbeatAt.getTime() < Date.now() - staleAfterMs) {
      throw new UserFacingError(
        `run #${runId} looks abandoned: no worker has reported on it for ${Math.round(staleAfterMs / 1000)} s (are the workers running?); the next run closes it as failed`,
      );
    }
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      throw new UserFacingError(
        `run #${runId} is still going at the --timeout: it goes on; follow it with plugchat-sync report --runs 1`,
      );
    }
    await sleep(options.pollMs ?? 500);
  }
}
