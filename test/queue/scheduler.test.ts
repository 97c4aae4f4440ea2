import type { Queue } from "bullmq";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import type { QueueBackend, QueueBackendSettings } from "../../src/queue/backend/index.js";
import { RUNS_QUEUE, SCHEDULER_ID, START_RUN_JOB } from "../../src/queue/jobs.js";
import type { SyncWorker } from "../../src/queue/worker.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  inspectionBackend,
  prepareQueues,
  testQueueSettings,
} from "./backends.js";
import { inProcessWorker, uniquePrefix } from "./helpers.js";

describeOnEachBackend("the schedule", (kind) => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let queues: QueueBackendSettings;
  let inspection: QueueBackend;
  let queue: Queue;

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    queues = testQueueSettings(kind, database.url, uniquePrefix());
    await prepareQueues(queues);
    inspection = inspectionBackend(queues);
    queue = inspection.queue(RUNS_QUEUE);
  });

  afterAll(async () => {
    await queue.close();
    await inspection.close();
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
  });

  /** Starts `count` workers at once with the given schedule, waits until all are ready, stops them. */
  async function startAndStop(count: number, cron: string, timezone = "UTC") {
    const logs = captureLogs();
    const workers: SyncWorker[] = Array.from({ length: count }, (_, index) =>
      inProcessWorker(
        { prisma, logger: logs.logger, simulatorUrl: "http://127.0.0.1:9", token: "unused", queues },
        { cron, timezone, name: `scheduler-test-${index}` },
      ),
    );
    try {
      await Promise.all(workers.map((worker) => worker.ready));
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
    }
    return logs;
  }

  async function startRunJobsWaiting() {
    const jobs = await queue.getJobs(["delayed", "waiting", "prioritized"]);
    return jobs.filter((job) => job.name === START_RUN_JOB);
  }

  it("three workers starting together leave exactly one scheduler, with one next fire", async () => {
    const logs = await startAndStop(3, "0 3 * * *", "America/Sao_Paulo");

    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({
      key: SCHEDULER_ID,
      name: START_RUN_JOB,
      pattern: "0 3 * * *",
      tz: "America/Sao_Paulo",
      template: { data: { trigger: "schedule" } },
    });
    const fires = await startRunJobsWaiting();
    expect(fires).toHaveLength(1);
    // 03:00 in São Paulo is 06:00 UTC: the scheduler's next time, to the millisecond.
    const next = new Date(schedulers[0]?.next ?? 0);
    expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCSeconds()]).toEqual([6, 0, 0]);
    // The waiting job is due then. Its timestamp and delay are two clock readings (the PostgreSQL
    // backend's can differ by a few milliseconds), so their sum is compared within a second.
    expect(Math.abs((fires[0]?.timestamp ?? 0) + (fires[0]?.delay ?? 0) - next.getTime())).toBeLessThan(
      1_000,
    );
    expect(logs.withMessage("worker ready")).toHaveLength(3);
  });

  it("a changed SYNC_CRON replaces the scheduler at the next start", async () => {
    const logs = await startAndStop(1, "*/20 * * * * *");

    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: SCHEDULER_ID, pattern: "*/20 * * * * *", tz: "UTC" });
    expect(await startRunJobsWaiting()).toHaveLength(1);
    expect(logs.withMessage("sync schedule replaced")[0]).toMatchObject({
      cron: "*/20 * * * * *",
      previous: "0 3 * * *",
    });
  });

  it("SYNC_CRON=off removes the scheduler and its next fire; workers then take manual runs only", async () => {
    const logs = await startAndStop(2, "off");

    expect(await queue.getJobSchedulers()).toEqual([]);
    expect(await startRunJobsWaiting()).toEqual([]);
    expect(logs.text()).toMatch(/workers take manual runs only/);
  });
});
