// The queues or PostgreSQL going away for a while under a running worker (a TCP proxy in front of the
// real server is cut, then restored): the worker logs, backs off, and finishes the run. On the
// PostgreSQL queue backend, PostgreSQL going away takes the data and the queues down together.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import type { QueueBackendSettings } from "../../src/queue/backend/index.js";
import { FIRE_JOB, RUNS_QUEUE } from "../../src/queue/jobs.js";
import type { SyncWorker } from "../../src/queue/worker.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  inspectionBackend,
  migratedQueueDatabase,
  queueServerPort,
  queuesThrough,
} from "./backends.js";
import { inProcessWorker, startTcpProxy, type TcpProxy, waitFor } from "./helpers.js";

const TOKEN = "outage-test-token";
const ACCOUNTS = 8;
const OUTAGE_MS = 2_000;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let logs: CapturedLogs;
let queues: QueueBackendSettings;
let proxy: TcpProxy | undefined;
let worker: SyncWorker | undefined;
let workerPrisma: PrismaClient | undefined;

describeOnEachBackend("an outage", (kind) => {
  beforeAll(async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  });

  afterAll(async () => {
    await simulator.close();
  });

  beforeEach(async () => {
    ({ database, queues } = await migratedQueueDatabase(kind));
    prisma = createPrismaClient(database.url);
    logs = captureLogs();
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
    simulator.setFault({ type: "latency", ms: 150 });
  });

  afterEach(async () => {
    proxy?.restore();
    await worker?.close();
    await workerPrisma?.$disconnect();
    await proxy?.close();
    proxy = worker = workerPrisma = undefined;
    simulator.clearFaults();
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
  });

  async function fireAndWaitForFirstBatch(): Promise<void> {
    const inspection = inspectionBackend(queues);
    const queue = inspection.queue(RUNS_QUEUE);
    await queue.add(FIRE_JOB, { trigger: "manual" });
    await queue.close();
    await inspection.close();
    await waitFor("a first batch written", () => prisma.syncRunBatch.count());
  }

  async function closedRun() {
    return waitFor(
      "the run closed",
      () => prisma.syncRun.findFirst({ where: { status: { not: "running" } } }),
      30_000,
    );
  }

  it("survives the queues going away: logs, reconnects with backoff (no tight loop), finishes the run", async () => {
    proxy = await startTcpProxy(queueServerPort(queues));
    worker = inProcessWorker(
      {
        prisma,
        logger: logs.logger,
        simulatorUrl: simulator.url,
        token: TOKEN,
        queues: queuesThrough(queues, proxy.port),
        maxReconnectDelayMs: 1_000,
      },
      { concurrency: 1 },
    );
    await worker.ready;
    await fireAndWaitForFirstBatch();

    proxy.cut();
    const attemptsBefore = proxy.attempts();
    await sleep(OUTAGE_MS);
    const attemptsDuringOutage = proxy.attempts() - attemptsBefore;
    proxy.restore();
    const run = await closedRun();

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect(await prisma.syncRunBatch.count({ where: { runId: run.id } })).toBe(ACCOUNTS / 2);
    // A few connections, each retrying with backoff: a handful of attempts, not thousands.
    expect(attemptsDuringOutage).toBeLessThan(30);
    const problems = logs
      .lines()
      .filter(
        (line) =>
          line.msg === "Redis connection problem: retrying with backoff" || line.msg === "queue problem",
      );
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.length).toBeLessThan(10);
  });

  it("survives PostgreSQL going away: failed batch attempts are retried with backoff, the run finishes", async () => {
    proxy = await startTcpProxy(Number(new URL(database.url).port || 5432));
    const url = new URL(database.url);
    url.port = String(proxy.port);
    workerPrisma = createPrismaClient(url.toString());
    // On the PostgreSQL backend the queues are in the same database, so they go away too.
    const workerQueues = kind === "postgres" ? queuesThrough(queues, proxy.port) : queues;
    worker = inProcessWorker(
      {
        prisma: workerPrisma,
        logger: logs.logger,
        simulatorUrl: simulator.url,
        token: TOKEN,
        queues: workerQueues,
      },
      { concurrency: 1, heartbeatEveryMs: 200, retry: { batchAttempts: 8, retryDelayMs: 200 } },
    );
    await worker.ready;
    await fireAndWaitForFirstBatch();

    proxy.cut();
    await sleep(OUTAGE_MS);
    proxy.restore();
    const run = await closedRun();

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect(await prisma.syncRunBatch.count({ where: { runId: run.id } })).toBe(ACCOUNTS / 2);
    // With the queues in Redis, batches meet the outage and fail attempts; with the queues in the same
    // PostgreSQL, the worker waits for it instead (nothing can be fetched or recorded meanwhile).
    if (kind === "redis") {
      expect(logs.withMessage("sync batch attempt failed: retried with backoff").length).toBeGreaterThan(0);
    }
    await waitFor("the run's summary line", () => logs.withMessage("sync run finished").length > 0);
    expect(logs.withMessage("sync run finished")).toHaveLength(1);
    // The heartbeat resumed after the outage.
    const beat = (await prisma.syncRun.findUniqueOrThrow({ where: { id: run.id } })).heartbeatAt;
    expect(beat.getTime()).toBeGreaterThan(Date.now() - 10_000);
  });
});
