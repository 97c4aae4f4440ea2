// What the status page's health reads of the queues, on each backend: the worker processes connected
// now (gone when one stops), the schedule with its next run, and nothing when the schedule is off.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import type { QueueBackendSettings } from "../../src/queue/backend/index.js";
import type { SyncWorker } from "../../src/queue/worker.js";
import type { TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";
import { deleteQueueData, describeOnEachBackend, migratedQueueDatabase } from "./backends.js";
import { inProcessWorker, uniquePrefix, waitFor } from "./helpers.js";

describeOnEachBackend("the queues' health", (kind) => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let queues: QueueBackendSettings;
  const started: SyncWorker[] = [];

  beforeAll(async () => {
    ({ database, queues } = await migratedQueueDatabase(kind));
    prisma = createPrismaClient(database.url);
  });

  afterAll(async () => {
    await Promise.all(started.map((worker) => worker.close()));
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
  });

  function worker(name: string, cron: string, settings = queues): SyncWorker {
    const setup = {
      prisma,
      logger: captureLogs("error").logger,
      simulatorUrl: "http://127.0.0.1:9",
      token: "unused",
      queues: settings,
    };
    const started_ = inProcessWorker(setup, { cron, timezone: "UTC", name });
    started.push(started_);
    return started_;
  }

  it("names each live worker process once, tells the schedule and its next run, and forgets a stopped worker", async () => {
    const first = worker("worker-a", "*/10 * * * * *");
    const second = worker("worker-b", "*/10 * * * * *");
    // Another deployment's worker (its own prefix) on the same server is not one of ours.
    worker("other-deployment", "off", { ...queues, prefix: uniquePrefix() });
    await Promise.all(started.map((each) => each.ready));

    const before = Date.now();
    const health = await first.queueHealth();
    expect(health.workers).toEqual(["worker-a", "worker-b"]);
    expect(health.schedule).toMatchObject({ cron: "*/10 * * * * *", timezone: "UTC" });
    const next = Date.parse(health.schedule?.nextRunAt ?? "");
    expect(next % 10_000).toBe(0);
    expect(next).toBeGreaterThan(before - 10_000);
    expect(next).toBeLessThanOrEqual(before + 10_000);

    await second.close();
    await waitFor("the stopped worker to leave the queues", async () => {
      const now = await first.queueHealth();
      return now.workers.length === 1 && now.workers[0] === "worker-a";
    });
  });

  it("has no schedule once SYNC_CRON=off", async () => {
    const manual = worker("worker-c", "off");
    await manual.ready;
    const health = await manual.queueHealth();
    expect(health.schedule).toBeNull();
    expect(health.workers).toContain("worker-c");
  });
});
