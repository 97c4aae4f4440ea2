// Producing side of the queue, for `plugchat-sync trigger`: queue a manual fire, and optionally follow
// it to its run's end. Fails fast when Redis is down (see connectProducer).
import { Job, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { PrismaClient } from "../db/prisma.js";
import { UserFacingError } from "../errors.js";
import { sleep } from "../plugchat/sleep.js";
import { DEFAULT_STALE_RUN_AFTER_MS } from "../sync/run-sync.js";
import { findRun, type RunningRun, runningRun } from "../sync/store.js";
import type { RunSummary } from "../sync/types.js";
import {
  DEFAULT_RETRY_OPTIONS,
  FIRE_JOB,
  type FireJobData,
  type FireResult,
  fireJobOptions,
  RUNS_QUEUE,
} from "./jobs.js";
import { RedisUnreachableError } from "./redis.js";

/** A run is going: the manual run was not queued, or was skipped by the worker. */
export class RunAlreadyGoingError extends UserFacingError {
  constructor(runId: number, detail: string) {
    super(
      `a sync run is in progress (#${runId}${detail}): no new run was started; try again when it has finished (plugchat-sync report --runs 1)`,
    );
  }
}

export interface Producer {
  queue: Queue<FireJobData>;
  close(): Promise<void>;
}

/** The runs queue on a connected producer connection (see `connectProducer`). */
export function openProducer(redis: Redis, prefix: string): Producer {
  const queue = new Queue<FireJobData>(RUNS_QUEUE, { connection: redis, prefix });
  // Errors surface through the failing calls; the listener keeps them from being unhandled events.
  queue.on("error", () => undefined);
  return {
    queue,
    close: async () => {
      await queue.close().catch(() => undefined);
    },
  };
}

/** The running run when it is alive (heartbeat not stale), else null: a stale one will be closed. */
export async function liveRunningRun(prisma: PrismaClient, now = Date.now()): Promise<RunningRun | null> {
  const run = await runningRun(prisma);
  if (!run || run.heartbeatAt.getTime() < now - DEFAULT_STALE_RUN_AFTER_MS) return null;
  return run;
}

/** Queues a manual fire; a worker opens the run when it takes it. Returns the job id. */
export async function enqueueManualRun(queue: Queue<FireJobData>, redisUrl: string): Promise<string> {
  const job = await redisCall(redisUrl, () =>
    queue.add(FIRE_JOB, { trigger: "manual" }, fireJobOptions(DEFAULT_RETRY_OPTIONS)),
  );
  if (job.id === undefined) throw new Error("BullMQ returned a job without an id");
  return job.id;
}

export interface WaitOptions {
  pollMs?: number;
  /** Called once when no worker has taken the fire after `slowAfterMs`. */
  onSlow?: () => void;
  slowAfterMs?: number;
}

/** Waits until a worker has handled the fire job: its run opened and queued, or the fire skipped. */
export async function waitForFire(
  queue: Queue<FireJobData>,
  jobId: string,
  redisUrl: string,
  options: WaitOptions = {},
): Promise<FireResult> {
  const started = Date.now();
  let warned = false;
  for (;;) {
    const job = await redisCall(redisUrl, () => Job.fromId<FireJobData, FireResult>(queue, jobId));
    if (!job) throw new UserFacingError(`the manual run's job ${jobId} disappeared from the queue`);
    const state = await redisCall(redisUrl, () => job.getState());
    if (state === "completed") return job.returnvalue;
    if (state === "failed") {
      throw new UserFacingError(`the manual run could not start: ${job.failedReason}`);
    }
    if (!warned && state === "waiting" && Date.now() - started > (options.slowAfterMs ?? 15_000)) {
      warned = true;
      options.onSlow?.();
    }
    await sleep(options.pollMs ?? 200);
  }
}

/** Waits until the run is closed, then returns it. */
export async function waitForRun(prisma: PrismaClient, runId: number, pollMs = 500): Promise<RunSummary> {
  for (;;) {
    const run = await findRun(prisma, runId);
    if (!run) throw new UserFacingError(`run #${runId} does not exist`);
    if (run.status !== "running") return run;
    await sleep(pollMs);
  }
}

/** Runs a Redis call of a producer; a lost connection becomes one clear line. */
async function redisCall<T>(redisUrl: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const message = (error as Error).message;
    if (/Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(message)) {
      throw new RedisUnreachableError(redisUrl, message, error);
    }
    throw error;
  }
}
