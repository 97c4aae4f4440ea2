// The queues or PostgreSQL going away for a while under a running worker (a TCP proxy in front of the
// real server is cut, then restored): the worker logs, backs off, and finishes the run. On the
// PostgreSQL queue backend, PostgreSQL going away takes the data and the queues down together.
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { describeOnEachBackend, queueServerPort, queuesThrough } from "./backends.js";
import { startTcpProxy, type TcpProxy, useWorkerTestEnvironment, waitFor } from "./helpers.js";

const TOKEN = "outage-test-token";
const ACCOUNTS = 8;
const OUTAGE_MS = 2_000;

describeOnEachBackend("an outage", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: ACCOUNTS });
  let proxy: TcpProxy | undefined;
  let workerPrisma: PrismaClient | undefined;

  beforeEach(() => {
    env.simulator.setFault({ type: "latency", ms: 150 });
  });

  // Runs before the environment's own teardown: the worker closes with its server back.
  afterEach(async () => {
    proxy?.restore();
    await env.closeWorkers();
    await workerPrisma?.$disconnect();
    await proxy?.close();
    proxy = workerPrisma = undefined;
  });

  async function startRunAndWaitForFirstBatch(): Promise<void> {
    await env.startManualRun();
    await waitFor("a first batch written", () => env.prisma.syncRunBatch.count());
  }

  it("survives the queues going away: logs, reconnects with backoff (no tight loop), finishes the run", async () => {
    proxy = await startTcpProxy(queueServerPort(env.queues));
    const worker = env.worker(
      { concurrency: 1 },
      { queues: queuesThrough(env.queues, proxy.port), maxReconnectDelayMs: 1_000 },
    );
    await worker.ready;
    await startRunAndWaitForFirstBatch();

    proxy.cut();
    const attemptsBefore = proxy.attempts();
    await sleep(OUTAGE_MS);
    const attemptsDuringOutage = proxy.attempts() - attemptsBefore;
    proxy.restore();
    const run = await env.closedRun(30_000);

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect(await env.prisma.syncRunBatch.count({ where: { runId: run.id } })).toBe(ACCOUNTS / 2);
    // A few connections, each retrying with backoff: a handful of attempts, not thousands.
    expect(attemptsDuringOutage).toBeLessThan(30);
    const problems = env.logs
      .lines()
      .filter(
        (line) =>
          line.msg === "Redis connection problem: retrying with backoff" || line.msg === "queue problem",
      );
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.length).toBeLessThan(10);
  });

  it("survives PostgreSQL going away: failed batch attempts are retried with backoff, the run finishes", async () => {
    proxy = await startTcpProxy(Number(new URL(env.database.url).port || 5432));
    const url = new URL(env.database.url);
    url.port = String(proxy.port);
    workerPrisma = createPrismaClient(url.toString());
    // On the PostgreSQL backend the queues are in the same database, so they go away too.
    const workerQueues = kind === "postgres" ? queuesThrough(env.queues, proxy.port) : env.queues;
    const worker = env.worker(
      { concurrency: 1, heartbeatEveryMs: 200, retry: { batchAttempts: 8, retryDelayMs: 200 } },
      { prisma: workerPrisma, queues: workerQueues },
    );
    await worker.ready;
    await startRunAndWaitForFirstBatch();

    proxy.cut();
    await sleep(OUTAGE_MS);
    proxy.restore();
    const run = await env.closedRun(30_000);

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect(await env.prisma.syncRunBatch.count({ where: { runId: run.id } })).toBe(ACCOUNTS / 2);
    // With the queues in Redis, batches meet the outage and fail attempts; with the queues in the same
    // PostgreSQL, the worker waits for it instead (nothing can be fetched or recorded meanwhile).
    if (kind === "redis") {
      expect(env.logs.withMessage("sync batch attempt failed: retried with backoff").length).toBeGreaterThan(
        0,
      );
    }
    await waitFor("the run's summary line", () => env.logs.withMessage("sync run finished").length > 0);
    expect(env.logs.withMessage("sync run finished")).toHaveLength(1);
    // The heartbeat resumed after the outage.
    const beat = (await env.prisma.syncRun.findUniqueOrThrow({ where: { id: run.id } })).heartbeatAt;
    expect(beat.getTime()).toBeGreaterThan(Date.now() - 10_000);
  });
});
