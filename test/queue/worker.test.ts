// The worker in this process, against real queues (Redis, or PostgreSQL), PostgreSQL and the Plugchat
// simulator.
import { expect, it } from "vitest";
import type { AbandonedRun } from "../../src/db/sql/runs.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import type { QueueBackendSettings } from "../../src/queue/backend/index.js";
import { runBatch } from "../../src/sync/batch.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { completeRun, startRun } from "../../src/sync/run-lifecycle.js";
import { writeBatch } from "../../src/sync/write-batch.js";
import { describeOnEachBackend, queuesThrough } from "./backends.js";
import { simulatorClient, uniquePrefix, useWorkerTestEnvironment, waitFor } from "./helpers.js";

const TOKEN = "worker-test-token";
const ACCOUNTS = 6;

/** The same queues, at a port where nothing listens. */
function queuesThroughClosedPort(settings: QueueBackendSettings): QueueBackendSettings {
  return queuesThrough(settings, 1);
}

describeOnEachBackend("the queue worker", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: ACCOUNTS });

  function client() {
    return createPlugchatClient({
      baseUrl: env.simulator.url,
      token: TOKEN,
      timeoutMs: 2_000,
      maxAttempts: 1,
      maxRps: 0,
    });
  }

  it("runs a manual fire as batch jobs, each written once, and closes the run once", async () => {
    const started = env.worker();
    await started.ready;

    await env.startManualRun();
    const run = await env.closedRun();

    expect(run).toMatchObject({
      trigger: "manual",
      status: "succeeded",
      accountsTotal: ACCOUNTS,
      accountsChanged: ACCOUNTS,
    });
    const batches = await env.prisma.syncRunBatch.findMany({ orderBy: { batchIndex: "asc" } });
    expect(batches.map((batch) => [batch.batchIndex, batch.accounts])).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
    ]);
    await waitFor("the run's summary line", () => env.logs.withMessage("sync run finished").length > 0);
    expect(env.logs.withMessage("sync run finished")).toHaveLength(1);
    expect(env.logs.withMessage("sync batch written")).toHaveLength(3);
    expect(await started.queueDepth()).toBe(0);
  });

  it("writes a batch delivered again after its commit only once: no doubled counters, no duplicate drift", async () => {
    const deps = { prisma: env.prisma, client: client(), logger: env.logs.logger };
    await runSync(deps, { trigger: "cli", concurrency: 2, batchSize: 2 });
    const [first, second] = env.simulator.listIds() as [string, string];
    env.simulator.setAccount(first, { name: "renamed once" });
    env.simulator.setAccount(second, { active: false });

    const run = await startRun(deps, "manual");
    const ids = [first, second];
    const once = await runBatch(deps, { runId: run.runId, batchIndex: 0, ids }, { concurrency: 2 });
    const again = await runBatch(deps, { runId: run.runId, batchIndex: 0, ids }, { concurrency: 2 });

    expect(once).toMatchObject({
      status: "written",
      counts: { accountsTotal: 2, accountsChanged: 2, driftCount: 2 },
    });
    expect(again.status).toBe("already_written");
    expect(await env.prisma.syncRun.findUniqueOrThrow({ where: { id: run.runId } })).toMatchObject({
      accountsTotal: 2,
      accountsChanged: 2,
      driftCount: 2,
    });
    expect(await env.prisma.accountDrift.count({ where: { syncRunId: run.runId } })).toBe(2);
    // The second delivery skipped before calling Plugchat.
    expect(env.simulator.requestCount(first)).toBe(2);

    // A batch whose run was closed meanwhile (e.g. as abandoned) writes nothing, even past the first check.
    await completeRun(deps, run.runId, "closed for the test");
    const late = await writeBatch(env.prisma, run.runId, [{ id: first, kind: "failed", error: "late" }], {
      index: 1,
      unknownFields: [],
      extraCutFields: [],
      writtenBy: "test",
    });
    expect(late).toBe("run_closed");
    expect(await env.prisma.syncRunBatch.count({ where: { runId: run.runId } })).toBe(1);
    expect((await env.prisma.account.findUniqueOrThrow({ where: { id: first } })).lastError).toBeNull();
  });

  it("skips a fire that comes while a run is going, logs it and counts it; runs never overlap", async () => {
    env.simulator.setFault({ type: "latency", ms: 250 });
    let skipped = 0;
    const started = env.worker({
      cron: "*/1 * * * * *",
      concurrency: 1,
      metrics: { skippedRunStart: () => skipped++ },
    });
    await started.ready;

    await env.closedRun(15_000);
    await waitFor("a skipped fire", () => skipped > 0, 5_000);
    await started.close();

    const lines = env.logs.withMessage("sync fire skipped: another run is still going");
    expect(lines.length).toBe(skipped);
    expect(lines[0]).toMatchObject({ trigger: "schedule", runningRunId: expect.any(Number) });
    const runs = await env.prisma.syncRun.findMany({ orderBy: { id: "asc" } });
    expect(runs[0]).toMatchObject({ trigger: "schedule", status: "succeeded", accountsTotal: ACCOUNTS });
    for (const [index, run] of runs.entries()) {
      const next = runs[index + 1];
      if (next && run.finishedAt)
        expect(next.startedAt.getTime()).toBeGreaterThanOrEqual(run.finishedAt.getTime());
    }
  });

  it("closes a run left by a dead process before opening its own: one warn line, and counted in its metrics", async () => {
    const heartbeatAt = new Date(Date.now() - 10 * 60_000);
    const dead = await env.prisma.syncRun.create({ data: { trigger: "schedule", heartbeatAt } });
    const abandoned: AbandonedRun[] = [];
    const started = env.worker({ metrics: { abandonedRun: (run) => abandoned.push(run) } });
    await started.ready;

    await env.startManualRun();
    const manual = await waitFor("the manual run closed", () =>
      env.prisma.syncRun.findFirst({ where: { trigger: "manual", status: { not: "running" } } }),
    );

    expect(manual.status).toBe("succeeded");
    expect(abandoned).toEqual([
      { runId: dead.id, trigger: "schedule", startedAt: dead.startedAt, heartbeatAt },
    ]);
    const lines = env.logs.lines().filter((line) => String(line.msg).includes("closed as abandoned"));
    expect(lines).toEqual([
      expect.objectContaining({ level: "warn", runId: dead.id, heartbeatAt: heartbeatAt.toISOString() }),
    ]);
  });

  it("stops the whole run when one batch finds the token refused: the others skip, the run fails saying why", async () => {
    env.simulator.setFault({ type: "status", status: 401 }, { times: 1 });
    const started = env.worker({ concurrency: 2, workerConcurrency: 1 });
    await started.ready;

    await env.startManualRun();
    const run = await env.closedRun();

    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/refused the token \(HTTP 401\)/);
    // The requests of the batch that met the refusal, and none of the other batches'.
    expect(env.simulator.requestCount()).toBe(2);
    await waitFor("every batch job done", async () => (await started.queueDepth()) === 0);
    expect(env.logs.withMessage("sync batch skipped").map((line) => line.status)).toEqual([
      "run_stopped",
      "run_stopped",
    ]);
  });

  it("closes the run as failed, naming the lost batch, when a batch fails after every attempt", async () => {
    const broken = env.simulator.listIds()[2] as string;
    await env.prisma.$executeRawUnsafe(`
      CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'simulated database failure'; END $$;
      CREATE TRIGGER refuse_write BEFORE UPDATE ON accounts FOR EACH ROW
        WHEN (NEW.id = '${broken}') EXECUTE FUNCTION refuse_write();`);
    const started = env.worker({ retry: { batchAttempts: 3, retryDelayMs: 20 } });
    await started.ready;

    await env.startManualRun();
    const run = await env.closedRun();

    expect(run.status).toBe("failed");
    expect(run.error).toMatch(
      /^1 of 3 batches failed after every attempt, so their accounts were not synced \(batch 1\): .*simulated database failure/,
    );
    expect(run.accountsTotal).toBe(4);
    expect((await env.prisma.syncRunBatch.findMany()).map((batch) => batch.batchIndex).sort()).toEqual([
      0, 2,
    ]);
    const failed = await env.batchesQueue.getFailed();
    expect(failed).toHaveLength(1);
    expect(failed[0]?.attemptsMade).toBe(3);
    await waitFor("the run's summary line", () => env.logs.withMessage("sync run finished").length > 0);
    expect(env.logs.withMessage("sync run finished")).toHaveLength(1);
  });

  it("hands in-flight batches back when the shutdown timeout passes, with no attempt spent; another worker finishes them", async () => {
    env.simulator.setFault({ type: "latency", ms: 5_000 });
    const plugchat = simulatorClient({
      simulatorUrl: env.simulator.url,
      token: TOKEN,
      logger: env.logs.logger,
    });
    let answered = 0;
    const counting: PlugchatClient = {
      async getAccount(id, options) {
        const account = await plugchat.getAccount(id, options);
        answered++;
        return account;
      },
    };
    // One job running and the next one taken alongside: two in flight.
    const stopping = env.worker({ shutdownTimeoutMs: 200, workerConcurrency: 1 }, { client: counting });
    await stopping.ready;
    await env.startManualRun();
    const active = await waitFor("two active batches", async () => {
      const jobs = await env.batchesQueue.getActive();
      return jobs.length === 2 ? jobs : undefined;
    });

    await stopping.close();

    // The close did not wait for the held requests' answers.
    expect(answered).toBe(0);
    for (const job of active) {
      expect(await env.batchesQueue.getJobState(job.id as string)).toBe("waiting");
      expect((await env.batchesQueue.getJob(job.id as string))?.attemptsMade).toBe(0);
    }
    expect(await env.prisma.syncRunBatch.count()).toBe(0);
    expect(env.logs.withMessage("sync batch handed back to the queue: the worker is stopping")).toHaveLength(
      2,
    );

    env.simulator.clearFaults();
    env.worker();
    const run = await env.closedRun();
    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
  });

  it("keeps few finished batch jobs (their record is sync_run_batches) and a short event stream: the queues' footprint stays flat", async () => {
    const started = env.worker({ batchSize: 1, concurrency: 2, workerConcurrency: 2 });
    await started.ready;
    const runs = 9; // 54 batches: more than the 50 kept
    for (let index = 0; index < runs; index++) {
      await env.startManualRun();
      await waitFor(
        `run ${index + 1} closed`,
        async () => (await env.prisma.syncRun.count({ where: { status: { not: "running" } } })) === index + 1,
      );
    }
    expect(await env.prisma.syncRunBatch.count()).toBe(runs * ACCOUNTS);
    await waitFor("every batch job done", async () => (await started.queueDepth()) === 0);
    expect(await env.batchesQueue.getCompletedCount()).toBe(50);
    // Each queue's event stream is trimmed to 500 entries, not BullMQ's 10,000 (bench: queue footprint).
    for (const queue of [env.runsQueue, env.batchesQueue])
      expect((await queue.getMeta()).maxLenEvents).toBe(500);
  });

  it("stopped while its queues are unreachable, stops its start-up: never 'worker ready' after 'worker stopped'", async () => {
    const unreachable = queuesThroughClosedPort(env.queues);
    const started = env.worker({}, { queues: unreachable, maxReconnectDelayMs: 100 });
    // Redis holds the commands until it comes back; PostgreSQL fails them and the start-up retries.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await started.close();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const messages = env.logs.lines().map((line) => line.msg);
    expect(messages).toContain("worker stopped");
    expect(messages).not.toContain("worker ready");
  });

  it("keeps two deployments (two QUEUE_PREFIX) apart on one queue store: a worker never takes the other's run", async () => {
    const other = env.worker({}, { queues: { ...env.queues, prefix: uniquePrefix() } });
    await other.ready;
    await env.startManualRun();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await env.prisma.syncRun.count()).toBe(0);

    const own = env.worker();
    await own.ready;
    expect(await env.closedRun()).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
  });
});
