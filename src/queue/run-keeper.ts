// The worker's periodic upkeep, on any backend:
// - the heartbeat of the run the queue is working on: refreshed by every live worker while the run's
//   finish job is pending (or while the backend cannot tell), so a run waiting out an outage or
//   retries is not taken for abandoned; a run whose workers all died, or whose jobs are gone, goes
//   stale and is closed by the next run;
// - the schedule, once the backend had trouble: a Redis that comes back without its data (restarted
//   without persistence, a failover to a replica that lagged), or a restored database, has lost the
//   job scheduler too, and no scheduled run would ever start again.
import type { Queue } from "bullmq";
import type { PrismaClient } from "../db/prisma.js";
import { heartbeat, runningRun } from "../db/sql/runs.js";
import { withTimeout } from "../lib/timeout.js";
import type { Logger } from "../logger.js";
import { throttledLog } from "../observability/throttled-log.js";
import { type FinishJobData, finishJobId, type StartRunJobData } from "./jobs.js";

const PENDING_STATES = new Set(["waiting", "waiting-children", "active", "delayed", "prioritized"]);

export interface RunKeeperOptions {
  prisma: PrismaClient;
  runsQueue: Queue<StartRunJobData | FinishJobData>;
  logger: Logger;
  everyMs: number;
  /** Registers the schedule again when it is missing; resolves once checked. */
  restoreSchedule: () => Promise<void>;
}

export interface RunKeeper {
  /** A component of the worker reported a backend problem: check the schedule at the next tick. */
  noteBackendTrouble(): void;
  stop(): void;
}

export function startRunKeeper(options: RunKeeperOptions): RunKeeper {
  const { prisma, runsQueue, logger } = options;
  const logProblem = throttledLog(logger, "warn");
  let troubleSeen = false;
  let ticking = false;

  async function keepRunAlive(): Promise<void> {
    const run = await runningRun(prisma);
    if (!run || run.trigger === "cli") return; // a CLI run refreshes its own heartbeat
    const state = await withTimeout(
      runsQueue.getJobState(finishJobId(run)).catch(() => undefined),
      5_000,
    );
    // When the backend cannot tell, the run is waiting for it, not abandoned.
    if (state === undefined || PENDING_STATES.has(state)) await heartbeat(prisma, run.runId);
  }

  async function tick(): Promise<void> {
    await keepRunAlive().catch((error: unknown) =>
      logProblem("heartbeat", { err: (error as Error).message }, "run heartbeat failed"),
    );
    if (!troubleSeen) return;
    try {
      await options.restoreSchedule();
      troubleSeen = false;
    } catch (error) {
      logProblem(
        "schedule",
        { err: (error as Error).message },
        "could not check the sync schedule after a queue backend problem",
      );
    }
  }

  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    tick().finally(() => {
      ticking = false;
    });
  }, options.everyMs);
  timer.unref();

  return {
    noteBackendTrouble: () => {
      troubleSeen = true;
    },
    stop: () => clearInterval(timer),
  };
}
