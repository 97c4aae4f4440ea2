// Redis or PostgreSQL going away for a while under a running worker (a TCP proxy in front of each
// real server is cut, then restored): the worker logs, backs off, and finishes the run.
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { FIRE_JOB, RUNS_QUEUE } from "../../src/queue/jobs.js";
import type { SyncWorker } from "../../src/queue/worker.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import {
  deleteKeys,
  inProcessWorker,
  REDIS_URL,
  startTcpProxy,
  type TcpProxy,
  uniquePrefix,
  waitFor,
} from "./helpers.js";

const TOKEN = "outage-test-token";
const ACCOUNTS = 8;
const OUTAGE_MS = 2_000;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let logs: CapturedLogs;
let prefix: string;
let redis: Redis;
let proxy: TcpProxy | undefined;
let worker: SyncWorker | undefined;
let workerPrisma: PrismaClient | undefined;

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis.disconnect();
  await simulator.close();
});

beforeEach(async () => {
  prefix = uniquePrefix();
  database = await createMigratedTestDatabase();
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
  await deleteKeys(REDIS_URL, prefix);
  await prisma.$disconnect();
  await database.drop();
});

async function fireAndWaitForFirstBatch(): Promise<void> {
  const queue = new Queue(RUNS_QUEUE, { connection: redis, prefix });
  await queue.add(FIRE_JOB, { trigger: "manual" });
  await queue.close();
  await waitFor("a first batch written", () => prisma.syncRunBatch.count());
}

async function closedRun() {
  return waitFor(
    "the run closed",
    () => prisma.syncRun.findFirst({ where: { status: { not: "running" } } }),
    30_000,
  );
}

it("survives Redis going away: logs once, reconnects with backoff (no tight loop), finishes the run", async () => {
  proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379));
  worker = inProcessWorker(
    { prisma, logger: logs.logger, simulatorUrl: simulator.url, token: TOKEN, prefix },
    { redisUrl: `redis://127.0.0.1:${proxy.port}`, concurrency: 1, maxReconnectDelayMs: 1_000 },
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
  // A few connections, each retrying at 0.5 s, 1 s, 1 s...: a handful of attempts, not thousands.
  expect(attemptsDuringOutage).toBeLessThan(30);
  const problems = logs.withMessage("Redis connection problem: retrying with backoff");
  expect(problems.length).toBeGreaterThan(0);
  expect(problems.length).toBeLessThan(10);
  await waitFor("Redis connection restored", () => logs.withMessage("Redis connection restored").length > 0);
});

it("survives PostgreSQL going away: failed batch attempts are retried with backoff, the run finishes", async () => {
  proxy = await startTcpProxy(5432);
  const url = new URL(database.url);
  url.port = String(proxy.port);
  workerPrisma = createPrismaClient(url.toString());
  worker = inProcessWorker(
    { prisma: workerPrisma, logger: logs.logger, simulatorUrl: simulator.url, token: TOKEN, prefix },
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
  expect(logs.withMessage("sync batch attempt failed: retried with backoff").length).toBeGreaterThan(0);
  await waitFor("the run's summary line", () => logs.withMessage("sync run finished").length > 0);
  expect(logs.withMessage("sync run finished")).toHaveLength(1);
  // The heartbeat resumed after the outage.
  const beat = (await prisma.syncRun.findUniqueOrThrow({ where: { id: run.id } })).heartbeatAt;
  expect(beat.getTime()).toBeGreaterThan(Date.now() - 10_000);
});
