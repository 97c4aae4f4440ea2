// A deployment that moves its queues from Redis to PostgreSQL while a run is going: what was queued
// in Redis stays there, unprocessed; the run it belonged to is not kept alive by the new workers, so
// it goes stale and the first run on the new backend closes it as abandoned, then syncs every account.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { RUNS_QUEUE, START_RUN_JOB } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";
import { deleteQueueData, inspectionBackend, prepareQueues, testQueueSettings } from "./backends.js";
import { inProcessWorker, uniquePrefix, waitFor } from "./helpers.js";

const TOKEN = "switch-backend-test-token";
const ACCOUNTS = 8;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
  await simulator.close();
});

describe.skipIf(!inject("redisAvailable"))("switching the queues from Redis to PostgreSQL", () => {
  it("leaves the Redis run to go stale, and the first run on PostgreSQL closes it and syncs every account", async () => {
    const prefix = uniquePrefix();
    const redisQueues = testQueueSettings("redis", database.url, prefix);
    const postgresQueues = testQueueSettings("postgres", database.url, prefix);
    await prepareQueues(postgresQueues);
    const logs = captureLogs();
    const setup = { prisma, logger: logs.logger, simulatorUrl: simulator.url, token: TOKEN };

    // A run on Redis, stopped midway: its worker goes away with batches still queued in Redis.
    simulator.setFault({ type: "latency", ms: 300 });
    const onRedis = inProcessWorker(
      { ...setup, queues: redisQueues },
      { concurrency: 1, shutdownTimeoutMs: 0 },
    );
    await onRedis.ready;
    const redisInspection = inspectionBackend(redisQueues);
    const redisRuns = redisInspection.queue(RUNS_QUEUE);
    await redisRuns.add(START_RUN_JOB, { trigger: "manual" });
    await waitFor("a first batch written on Redis", () => prisma.syncRunBatch.count());
    await onRedis.close();
    const left = await prisma.syncRun.findFirstOrThrow({ where: { status: "running" } });
    expect(await prisma.syncRunBatch.count({ where: { runId: left.id } })).toBeLessThan(ACCOUNTS / 2);

    // The new workers, on PostgreSQL, do not keep that run alive: its jobs are not in their queues.
    simulator.clearFaults();
    const onPostgres = inProcessWorker({ ...setup, queues: postgresQueues }, { heartbeatEveryMs: 200 });
    try {
      await onPostgres.ready;
      const beatBefore = left.heartbeatAt.getTime();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const stillLeft = await prisma.syncRun.findUniqueOrThrow({ where: { id: left.id } });
      expect(stillLeft.heartbeatAt.getTime()).toBe(beatBefore);

      // Five minutes later (the heartbeat moved back rather than waited for), the next run closes it.
      await prisma.syncRun.update({
        where: { id: left.id },
        data: { heartbeatAt: new Date(Date.now() - 10 * 60_000) },
      });
      const postgresInspection = inspectionBackend(postgresQueues);
      const postgresRuns = postgresInspection.queue(RUNS_QUEUE);
      await postgresRuns.add(START_RUN_JOB, { trigger: "manual" });
      const next = await waitFor(
        "the run on PostgreSQL closed",
        () => prisma.syncRun.findFirst({ where: { id: { gt: left.id }, status: { not: "running" } } }),
        20_000,
      );
      await postgresRuns.close();
      await postgresInspection.close();

      expect(await prisma.syncRun.findUniqueOrThrow({ where: { id: left.id } })).toMatchObject({
        status: "failed",
        error: expect.stringMatching(/^abandoned/),
      });
      expect(next).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
      for (const id of simulator.listIds()) {
        expect(await prisma.account.findUniqueOrThrow({ where: { id } })).toMatchObject({
          ...simulator.getAccount(id),
          lastStatus: "ok",
        });
      }
    } finally {
      await onPostgres.close();
      await redisRuns.close();
      await redisInspection.close();
      await deleteQueueData(redisQueues);
    }
  });
});
