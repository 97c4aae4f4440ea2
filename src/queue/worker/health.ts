// What the health endpoints and the queue-depth gauge read of a worker.
import type { Queue } from "bullmq";
import type { PrismaClient } from "../../db/prisma.js";
import { ping } from "../../db/sql/queue.js";
import type { QueueBackend } from "../backend/index.js";

/** For health endpoints: resolve when the dependency answers, reject otherwise. */
export type HealthChecks = { postgres(): Promise<void>; queue(): Promise<void> };

export function healthChecks(prisma: PrismaClient, backend: QueueBackend): HealthChecks {
  return {
    postgres: async () => {
      await prisma.$queryRawUnsafe(ping().text);
    },
    queue: () => backend.check(),
  };
}

/** Batch jobs not finished yet (waiting, delayed, active). */
export async function queueDepth(batchesQueue: Queue): Promise<number> {
  const counts = await batchesQueue.getJobCounts("waiting", "active", "delayed", "prioritized");
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

const COUNTED_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed"] as const;

/** Jobs of both queues by state. */
export async function jobCounts(runsQueue: Queue, batchesQueue: Queue): Promise<Record<string, number>> {
  const [runs, batches] = await Promise.all([
    runsQueue.getJobCounts(...COUNTED_STATES),
    batchesQueue.getJobCounts(...COUNTED_STATES),
  ]);
  return Object.fromEntries(
    COUNTED_STATES.map((state) => [state, (runs[state] ?? 0) + (batches[state] ?? 0)]),
  );
}
