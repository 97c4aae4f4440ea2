// A worker process overlaps its batch jobs (the next one's requests fill the current one's tail) and
// keeps one limit of requests in flight across all of them: SYNC_CONCURRENCY x WORKER_CONCURRENCY.
import type { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import { createWorkerBackend, type QueueBackendSettings } from "../../src/queue/backend/index.js";
import { FIRE_JOB, RUNS_QUEUE } from "../../src/queue/jobs.js";
import { type SyncWorker, type SyncWorkerOptions, startWorker } from "../../src/queue/worker.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  inspectionBackend,
  migratedQueueDatabase,
} from "./backends.js";
import { waitFor } from "./helpers.js";

const TOKEN = "overlap-test-token";
const ACCOUNTS = 16;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let logs: CapturedLogs;
let queues: QueueBackendSettings;
let runsQueue: Queue;
let closeInspection: () => Promise<void>;
const workers: SyncWorker[] = [];

/** The Plugchat client of the worker, counting the requests in flight at once; `slowId`'s is held a while. */
function countingClient(slowId?: string) {
  const client = createPlugchatClient({
    baseUrl: simulator.url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 1,
    maxRps: 0,
  });
  const counts = { inFlight: 0, most: 0 };
  const counting: PlugchatClient = {
    async getAccount(id, options) {
      counts.inFlight++;
      counts.most = Math.max(counts.most, counts.inFlight);
      try {
        if (id === slowId) await new Promise((resolve) => setTimeout(resolve, 300));
        return await client.getAccount(id, options);
      } finally {
        counts.inFlight--;
      }
    },
  };
  return { counting, counts };
}

function worker(client: PlugchatClient, options: Partial<SyncWorkerOptions>): SyncWorker {
  const started = startWorker(
    { prisma, client, logger: logs.logger },
    {
      backend: createWorkerBackend(queues, { logger: logs.logger }),
      cron: "off",
      timezone: "UTC",
      batchSize: 2,
      concurrency: 2,
      retry: { batchAttempts: 3, retryDelayMs: 50 },
      ...options,
    },
  );
  workers.push(started);
  return started;
}

async function runThrough(started: SyncWorker) {
  await started.ready;
  await runsQueue.add(FIRE_JOB, { trigger: "manual" });
  return waitFor(
    "the run closed",
    () => prisma.syncRun.findFirst({ where: { status: { not: "running" } } }),
    30_000,
  );
}

describeOnEachBackend("a worker's overlapping batch jobs", (kind) => {
  beforeAll(async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  });

  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    ({ database, queues } = await migratedQueueDatabase(kind));
    const inspection = inspectionBackend(queues);
    runsQueue = inspection.queue(RUNS_QUEUE);
    closeInspection = async () => {
      await runsQueue.close();
      await inspection.close();
    };
    prisma = createPrismaClient(database.url);
    logs = captureLogs();
    simulator.clearFaults();
    // Slow enough answers that a batch's requests are still in flight when the next job comes.
    simulator.setFault({ type: "latency", ms: 50 });
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((started) => started.close()));
    await closeInspection();
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
  });

  it("fills one batch job's tail with the next job's requests, never more than SYNC_CONCURRENCY in flight", async () => {
    const { counting, counts } = countingClient();
    // Batches of 2 with 3 requests allowed: only two jobs overlapping can have 3 in flight.
    const run = await runThrough(worker(counting, { batchSize: 2, concurrency: 3, workerConcurrency: 1 }));

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS, accountsChanged: ACCOUNTS });
    expect(counts.most).toBe(3);
    const batches = await prisma.syncRunBatch.findMany({ orderBy: { batchIndex: "asc" } });
    expect(batches.map((batch) => batch.accounts)).toEqual(Array(ACCOUNTS / 2).fill(2));
  });

  it("shares SYNC_CONCURRENCY x WORKER_CONCURRENCY requests between every job it runs at once", async () => {
    const { counting, counts } = countingClient();
    // 3 jobs at once (WORKER_CONCURRENCY 2, and one to fill the tails) of 2 requests each could send 6:
    // the process's limit is 2 x 2.
    const run = await runThrough(worker(counting, { batchSize: 2, concurrency: 2, workerConcurrency: 2 }));

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect(counts.most).toBe(4);
    expect(await prisma.syncRunBatch.count()).toBe(ACCOUNTS / 2);
  });

  it("stops the requests of every open job of the run when one finds the token refused", async () => {
    const [refused] = simulator.listIds().sort() as [string];
    simulator.setFault({ type: "status", status: 401 }, { accountId: refused, times: 1 });
    // Batch 0's first request is answered 401 late: by then the next job's requests are out or queued.
    const { counting } = countingClient(refused);
    const run = await runThrough(worker(counting, { batchSize: 4, concurrency: 2, workerConcurrency: 1 }));

    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/refused the token \(HTTP 401\)/);
    // Only the batch that met the refusal wrote (what it had fetched); the overlapping job was cut
    // short and skipped, though its own requests would have succeeded.
    const batches = await prisma.syncRunBatch.findMany();
    expect(batches.map((batch) => [batch.batchIndex, batch.accounts])).toEqual([[0, 3]]);
    await waitFor("every other batch skipped", () => logs.withMessage("sync batch skipped").length === 3);
    expect(logs.withMessage("sync batch skipped").map((line) => line.status)).toEqual([
      "run_stopped",
      "run_stopped",
      "run_stopped",
    ]);
  });
});
