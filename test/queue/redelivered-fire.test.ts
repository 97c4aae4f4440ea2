// A fire delivered again after its worker died between opening the run and recording the run's id on
// the job: it must continue that run, not skip it because of its own run (which would then stay open,
// with no batches, until its heartbeat went stale). And Redis losing its data loses the schedule: the
// workers register it again when they reconnect.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { FIRE_JOB, type FireJobData, RUNS_QUEUE, SCHEDULER_ID } from "../../src/queue/jobs.js";
import type { SyncWorker } from "../../src/queue/worker.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { startRun } from "../../src/sync/run-sync.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { deleteKeys, inProcessWorker, REDIS_URL, uniquePrefix, waitFor } from "./helpers.js";

const TOKEN = "redelivered-fire-test-token";
const ACCOUNTS = 4;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let logs: CapturedLogs;
let prefix: string;
let redis: Redis;
let runsQueue: Queue<FireJobData>;
let worker: SyncWorker | undefined;

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
  runsQueue = new Queue(RUNS_QUEUE, { connection: redis, prefix });
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  logs = captureLogs();
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
});

afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await runsQueue.close();
  await deleteKeys(REDIS_URL, prefix);
  await prisma.$disconnect();
  await database.drop();
});

it("a fire whose worker died right after opening the run continues that run when delivered again", async () => {
  // A worker that dies at the worst moment: it takes the fire, opens the run exactly as the real worker
  // does, and stops there (no lock renewal, force-closed), so the fire stalls with the run open.
  let opened: number | undefined;
  const dyingConnection = redis.duplicate();
  const dying = new Worker<FireJobData>(
    RUNS_QUEUE,
    async (job) => {
      opened = (await startRun({ prisma, client: undefined as never, logger: logs.logger }, job.data.trigger))
        .runId;
      await new Promise(() => undefined);
    },
    // No stalled-job check of its own: it would hold off everyone's for its 30 s interval.
    {
      connection: dyingConnection,
      prefix,
      lockDuration: 1_000,
      skipLockRenewal: true,
      skipStalledCheck: true,
    },
  );
  const fire = await runsQueue.add(FIRE_JOB, { trigger: "manual" });
  await waitFor("the dying worker's run", () => opened);
  await dying.close(true);
  dyingConnection.disconnect();

  worker = inProcessWorker(
    { prisma, logger: logs.logger, simulatorUrl: simulator.url, token: TOKEN, prefix },
    { lockDurationMs: 1_000, stalledIntervalMs: 500 },
  );
  const run = await waitFor(
    "the run closed",
    () => prisma.syncRun.findFirst({ where: { id: opened, status: { not: "running" } } }),
    15_000,
  );

  expect(run).toMatchObject({ status: "succeeded", trigger: "manual", accountsTotal: ACCOUNTS });
  expect(await prisma.syncRun.count()).toBe(1);
  expect(await prisma.syncRunBatch.count({ where: { runId: opened } })).toBe(ACCOUNTS / 2);
  const done = await waitFor("the fire completed", async () => {
    const job = await runsQueue.getJob(fire.id as string);
    return (await job?.getState()) === "completed" ? job : undefined;
  });
  expect(done?.returnvalue).toMatchObject({ outcome: "planned", runId: opened });
  expect(
    logs.withMessage("sync fire delivered again: continuing the run it opened before its worker stopped"),
  ).toHaveLength(1);
});

it("a fire delivered for the first time still skips a running run, even one without batches", async () => {
  const running = await prisma.syncRun.create({ data: { trigger: "manual" } });
  worker = inProcessWorker(
    { prisma, logger: logs.logger, simulatorUrl: simulator.url, token: TOKEN, prefix },
    { lockDurationMs: 1_000, stalledIntervalMs: 500 },
  );
  const fire = await runsQueue.add(FIRE_JOB, { trigger: "manual" });
  const done = await waitFor("the fire completed", async () => {
    const job = await runsQueue.getJob(fire.id as string);
    return (await job?.getState()) === "completed" ? job : undefined;
  });

  expect(done?.returnvalue).toMatchObject({ outcome: "skipped", runningRunId: running.id });
  expect(await prisma.syncRun.findUniqueOrThrow({ where: { id: running.id } })).toMatchObject({
    status: "running",
  });
  expect(await prisma.syncRunBatch.count()).toBe(0);
});

it("registers the schedule again when Redis comes back without it (data lost)", async () => {
  worker = inProcessWorker(
    { prisma, logger: logs.logger, simulatorUrl: simulator.url, token: TOKEN, prefix },
    { cron: "0 0 1 1 *", maxReconnectDelayMs: 200 },
  );
  await worker.ready;
  expect(await runsQueue.getJobScheduler(SCHEDULER_ID)).toMatchObject({ pattern: "0 0 1 1 *" });

  // What a Redis restarted without persistence looks like to the worker: its keys gone, its
  // connections dropped.
  await deleteKeys(REDIS_URL, prefix);
  expect(await runsQueue.getJobScheduler(SCHEDULER_ID)).toBeUndefined();
  const name = `${prefix}:worker:`;
  const clients = (await redis.client("LIST")) as string;
  const ids = clients
    .split("\n")
    .filter((line) => line.includes(`name=${name}`))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) await redis.client("KILL", "ID", id as string);

  await waitFor("the schedule registered again", () => runsQueue.getJobScheduler(SCHEDULER_ID), 10_000);
  expect(
    logs.withMessage(
      "the sync schedule is missing after a Redis reconnection (Redis lost its data?): registering it again",
    ),
  ).toHaveLength(1);
});
