// The status page's health, runs and accounts as read from a real database: accounts missing after
// being seen apart from ids never found, active and inactive counted; runs with their account source,
// stale and abandoned ones marked; the overall state judged on them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { ABANDONED_RUN_ERROR } from "../../src/db/sql/runs.js";
import type { QueueHealth } from "../../src/queue/worker/queue-health.js";
import { accountsPanel, currentRun, healthPanel, recentRuns } from "../../src/status/queries.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";

let database: TestDatabase;
let prisma: PrismaClient;
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  const seen = minutesAgo(60);
  await prisma.account.createMany({
    data: [
      { id: "on-1", lastStatus: "ok", active: true, lastSyncedAt: seen },
      { id: "on-2", lastStatus: "ok", active: true, lastSyncedAt: seen },
      { id: "off-1", lastStatus: "ok", active: false, lastSyncedAt: seen },
      { id: "failing-1", lastStatus: "failed", active: true, lastSyncedAt: seen, consecutiveFailures: 2 },
      {
        id: "gone-1",
        name: "Loja",
        lastStatus: "not_found",
        active: true,
        lastSyncedAt: seen,
        missingSince: minutesAgo(5),
      },
      { id: "typo-1", lastStatus: "not_found", missingSince: minutesAgo(50) },
      { id: "new-1" },
      { id: "untracked-1", tracked: false, lastStatus: "not_found" },
    ],
  });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

describe("the accounts panel", () => {
  it("counts active, inactive, failing, missing after being seen, never found and not fetched yet, of tracked accounts", async () => {
    const panel = await accountsPanel(prisma);
    expect({
      ...panel,
      failing: panel.failing.total,
      missing: panel.missing.total,
      neverFound: panel.neverFound.total,
    }).toEqual({
      tracked: 7,
      active: 3,
      inactive: 1,
      pending: 1,
      failing: 1,
      missing: 1,
      neverFound: 1,
    });
    expect(panel.missing.accounts.map((account) => account.accountId)).toEqual(["gone-1"]);
    expect(panel.missing.accounts[0]?.lastSyncedAt).not.toBeNull();
    expect(panel.neverFound.accounts).toEqual([
      { accountId: "typo-1", name: null, missingSince: expect.any(String), lastSyncedAt: null },
    ]);
  });
});

describe("the runs and the health", () => {
  const queue: QueueHealth = {
    workers: ["host:1", "host:2"],
    schedule: {
      cron: "*/10 * * * * *",
      timezone: "UTC",
      nextRunAt: new Date(Date.now() + 5_000).toISOString(),
    },
  };

  beforeAll(async () => {
    const run = (minutes: number, data: Record<string, unknown>) =>
      prisma.syncRun.create({
        data: {
          trigger: "schedule",
          startedAt: minutesAgo(minutes),
          heartbeatAt: minutesAgo(minutes),
          ...data,
        },
      });
    await run(40, { status: "succeeded", finishedAt: minutesAgo(39) });
    await run(30, { status: "failed", finishedAt: minutesAgo(20), error: ABANDONED_RUN_ERROR });
    await run(20, {
      status: "succeeded",
      finishedAt: minutesAgo(19),
      sourceOutcome: "refused",
      sourceError: "would remove 3 of 7 tracked accounts (over the limit)",
      sourceIds: 4,
    });
  });

  it("gives each run its account source, and marks the run closed as abandoned", async () => {
    const runs = await recentRuns(prisma);
    expect(runs.map((run) => [run.runId, run.status, run.mark])).toEqual([
      [3, "succeeded", null],
      [2, "failed", "abandoned"],
      [1, "succeeded", null],
    ]);
    expect(runs[0]?.source).toEqual({
      outcome: "refused",
      error: "would remove 3 of 7 tracked accounts (over the limit)",
      added: null,
      retracked: null,
      removed: null,
    });
    expect(runs[2]?.source).toBeNull();
  });

  it("judges the state on a source refused, a late last success and failing accounts, and gives the last success, schedule and workers", async () => {
    const health = await healthPanel(prisma, queue);
    expect(health.state).toBe("failing");
    expect(health.reasons.map((reason) => reason.text)).toEqual([
      expect.stringMatching(
        /^the last successful run \(#3\) ended 19 min \d\d s ago; runs are due every 10 s$/,
      ),
      "the last run (#3): the account source was refused (would remove 3 of 7 tracked accounts (over the limit)); the tracked accounts were left as they were",
      "1 of 7 tracked accounts are failing (14%)",
    ]);
    expect(health.lastSuccess).toMatchObject({ runId: 3 });
    expect(health.lastSuccess?.ageSeconds).toBeGreaterThanOrEqual(19 * 60);
    expect(health.schedule).toEqual({ ...queue.schedule, intervalSeconds: 10 });
    expect(health.workers).toEqual(queue.workers);
  });

  it("marks a running run without heartbeat for over 5 minutes stale, in the runs, the run going on and the health", async () => {
    await prisma.syncRun.create({
      data: { trigger: "schedule", status: "running", startedAt: minutesAgo(8), heartbeatAt: minutesAgo(6) },
    });
    const [latest] = await recentRuns(prisma);
    expect(latest).toMatchObject({ runId: 4, status: "running", mark: "stale" });
    expect(await currentRun(prisma)).toMatchObject({ runId: 4, stale: true, staleAfterSeconds: 300 });
    const health = await healthPanel(prisma, { ...queue, workers: [] });
    expect(health.reasons.slice(0, 2).map((reason) => reason.text)).toEqual([
      "no worker is connected to the queues: no run will start",
      expect.stringMatching(/^run #4 has sent no heartbeat for 6 min \d\d s: its process died\?/),
    ]);

    await prisma.syncRun.update({ where: { id: 4 }, data: { heartbeatAt: new Date() } });
    expect((await recentRuns(prisma))[0]?.mark).toBeNull();
    expect((await currentRun(prisma))?.stale).toBe(false);
  });

  it("does not know the workers or the schedule without the queues", async () => {
    const health = await healthPanel(prisma, null);
    expect(health.workers).toBeNull();
    expect(health.schedule).toBeNull();
    expect(health.reasons.map((reason) => reason.text)).toContain(
      "the queues did not answer: live workers and the next run unknown",
    );
  });
});
