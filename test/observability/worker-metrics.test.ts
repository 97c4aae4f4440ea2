// /metrics of real worker processes (the built CLI), on each queue backend: two workers show the same
// deployment figures (runs and accounts from the database, jobs from the queues), and the whole
// scrape passes `promtool check metrics`.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { START_RUN_JOB } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { CliProcess } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { promtool, promtoolNote, runPromtoolTests } from "../helpers/promtool.js";
import { samplesOf } from "../helpers/scrape.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  prepareQueues,
  testQueueSettings,
} from "../queue/backends.js";
import { inspectQueues, type QueueInspection, spawnCli, uniquePrefix, waitFor } from "../queue/helpers.js";

const TOKEN = "worker-metrics-token";
const ACCOUNTS = 6;

describeOnEachBackend("/metrics of worker processes", (kind) => {
  const prefix = uniquePrefix();
  let simulator: Simulator;
  let database: TestDatabase;
  let prisma: PrismaClient;
  let inspection: QueueInspection;
  let queues: ReturnType<typeof testQueueSettings>;
  const workers: CliProcess[] = [];
  /** One scrape of each worker, once both show the parked job. */
  let scrapes: string[] = [];

  async function scrape(worker: CliProcess): Promise<string> {
    const port = await waitFor(
      "the health endpoint's port",
      () => worker.logs().find((line) => line.msg === "health and metrics endpoint listening")?.port,
    );
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  }

  beforeAll(async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
    queues = testQueueSettings(kind, database.url, prefix);
    await prepareQueues(queues);
    inspection = inspectQueues(queues);
    for (let i = 0; i < 2; i++) {
      const worker = spawnCli(["worker"], {
        DATABASE_URL: database.url,
        ...(kind === "redis" ? { REDIS_URL: queues.redisUrl ?? "" } : { REDIS_URL: "", QUEUE_BACKEND: "" }),
        QUEUE_PREFIX: prefix,
        PLUGCHAT_BASE_URL: simulator.url,
        PLUGCHAT_TOKEN: TOKEN,
        SYNC_CRON: "off",
        SYNC_BATCH_SIZE: "2",
        METRICS_PORT: "0",
      });
      workers.push(worker);
    }
    for (const worker of workers) {
      await waitFor(
        `worker ${worker.child.pid} ready`,
        () => worker.logs().some((line) => line.msg === "worker ready"),
        20_000,
      );
    }
    // A run for the histograms and counters to have values, then a job parked for an hour.
    await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
    await waitFor(
      "the run closed",
      () => prisma.syncRun.findFirst({ where: { status: { not: "running" } } }),
      30_000,
    );
    await inspection.batchesQueue.add("parked", {}, { delay: 3_600_000 });
    scrapes = await waitFor(
      "both workers showing the parked job alone",
      async () => {
        const texts = await Promise.all(workers.map(scrape));
        // Each worker reads the queues at most once per 5 s, at its own moments: wait for both to
        // have read them since the run's job completed.
        const parked = texts.every((text) => {
          const jobs = samplesOf(text, "plugchat_sync_queue_jobs");
          return jobs.delayed === 1 && jobs.active === 0 && jobs.waiting === 0;
        });
        return parked && texts;
      },
      20_000,
      500,
    );
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGTERM");
      await worker.exited;
    }
    await inspection?.close();
    await deleteQueueData(queues);
    await prisma?.$disconnect();
    await database?.drop();
    await simulator?.close();
  });

  it("show the same deployment figures on both workers, read from the database and the queues", async () => {
    const run = await prisma.syncRun.findFirstOrThrow({ where: { status: { not: "running" } } });
    expect(run.status).toBe("succeeded");
    for (const text of scrapes) {
      expect(samplesOf(text, "plugchat_sync_recorded_runs")).toMatchObject({ succeeded: 1, running: 0 });
      expect(samplesOf(text, "plugchat_sync_last_success_timestamp_seconds")).toEqual({
        "": (run.finishedAt as Date).getTime() / 1000,
      });
      expect(samplesOf(text, "plugchat_sync_tracked_accounts")).toMatchObject({
        active: ACCOUNTS,
        failing: 0,
      });
      expect(samplesOf(text, "plugchat_sync_queue_jobs")).toMatchObject({ delayed: 1, waiting: 0 });
      expect(samplesOf(text, "plugchat_sync_database_up")).toEqual({ external: 1 });
    }
    const deployment = (text: string) =>
      text
        .split("\n")
        .filter((line) =>
          /^plugchat_sync_(recorded_runs|last_|tracked_accounts|queue_jobs|mismatches|account_source_last|database_up)/.test(
            line,
          ),
        );
    expect(deployment(scrapes[1] as string)).toEqual(deployment(scrapes[0] as string));
  });

  it.runIf(runPromtoolTests)(`pass promtool check metrics, the whole scrape${promtoolNote}`, async () => {
    for (const text of scrapes) {
      const { code, output } = await promtool(["check", "metrics"], text);
      expect(output).toBe("");
      expect(code).toBe(0);
    }
  });
});
