// The worker and the trigger as real processes (the built CLI: `npm run build` first), sharing real
// queues (Redis, or PostgreSQL) and PostgreSQL: what happens when processes start, stop, die and share
// a run.
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { sleep } from "../../src/lib/sleep.js";
import { createPlugchatClient } from "../../src/plugchat/index.js";
import { connectProducerBackend, type QueueBackendSettings } from "../../src/queue/backend/index.js";
import { START_RUN_JOB } from "../../src/queue/jobs.js";
import { openProducer, startManualRunWhenIdle, waitForRun } from "../../src/queue/trigger.js";
import type { SyncWorker } from "../../src/queue/worker.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { HealthPanel } from "../../src/status/queries.js";
import { runSync } from "../../src/sync/run-in-process.js";
import type { CliProcess } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { TEST_REDIS_URL } from "../helpers/redis-setup.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  prepareQueues,
  redisKeys,
  storedQueueStrings,
  testQueueSettings,
} from "./backends.js";
import {
  inProcessWorker,
  inspectQueues,
  type QueueInspection,
  spawnCli,
  uniquePrefix,
  waitFor,
} from "./helpers.js";

const TOKEN = "processes-test-token-3f9c2a";
const ACCOUNTS = 8;
// A database index of its own: the worker must honour the one in REDIS_URL.
const DB_INDEX = 3;
const redisUrl = (() => {
  const url = new URL(TEST_REDIS_URL);
  url.pathname = `/${DB_INDEX}`;
  return url.toString();
})();

describeOnEachBackend("processes", (kind) => {
  const prefix = uniquePrefix();
  let simulator: Simulator;
  let database: TestDatabase;
  let prisma: PrismaClient;
  let queues: QueueBackendSettings;
  let inspection: QueueInspection;
  const processes: CliProcess[] = [];

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: database.url,
      // The PostgreSQL backend is what a deployment without REDIS_URL gets.
      ...(kind === "redis" ? { REDIS_URL: redisUrl } : { REDIS_URL: "", QUEUE_BACKEND: "" }),
      QUEUE_PREFIX: prefix,
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_CRON: "off",
      SYNC_BATCH_SIZE: "2",
      SYNC_CONCURRENCY: "1",
      SYNC_MAX_ATTEMPTS: "2",
      LOG_LEVEL: "debug",
      METRICS_PORT: "0",
      // Short, and the same for every worker of the file: the stalled-job check runs at most once per
      // interval for the whole queue, whichever worker runs it.
      WORKER_LOCK_DURATION_MS: "2000",
      WORKER_STALLED_INTERVAL_MS: "1000",
      ...extra,
    };
  }

  function startWorkerProcess(extra: Record<string, string> = {}): CliProcess {
    const started = spawnCli(["worker"], env(extra));
    processes.push(started);
    return started;
  }

  async function ready(worker: CliProcess): Promise<void> {
    await waitFor(
      `worker ${worker.child.pid} ready`,
      () => worker.logs().some((line) => line.msg === "worker ready"),
      15_000,
    );
  }

  async function lastRunId(): Promise<number> {
    return (await prisma.syncRun.findFirst({ orderBy: { id: "desc" } }))?.id ?? 0;
  }

  /** A worker in this test process, on the file's queues. */
  function workerHere(logger: CapturedLogs["logger"]): SyncWorker {
    return inProcessWorker(
      { prisma, logger, simulatorUrl: simulator.url, token: TOKEN, queues },
      { lockDurationMs: 2_000, stalledIntervalMs: 1_000 },
    );
  }

  /** Closes a run a test opened by hand, unless something closed it already. */
  async function closeRun(runId: number): Promise<void> {
    await prisma.syncRun.updateMany({
      where: { id: runId, status: "running" },
      data: { status: "failed", finishedAt: new Date() },
    });
  }

  /** The first run after `afterId`, once closed. */
  async function closedRunAfter(afterId: number, timeoutMs = 30_000) {
    return waitFor(
      `a closed run after #${afterId}`,
      () => prisma.syncRun.findFirst({ where: { id: { gt: afterId }, status: { not: "running" } } }),
      timeoutMs,
    );
  }

  /**
   * A preload for a child process that holds the loading of the CLI (main.js importing program.js,
   * which brings in Prisma and BullMQ) for 2 s, and says so on stderr: a fixed moment while the worker
   * is still starting, whatever the code does about signals before it.
   */
  function slowCliLoading(): string {
    const hooks = join(tmpdir(), `plugchat-sync-slow-loading-${process.pid}.mjs`);
    writeFileSync(
      hooks,
      `import { writeSync } from "node:fs";
export async function resolve(specifier, context, next) {
  // The bundle's entry imports the program's chunk, ./chunks/program-<hash>.js.
  if (/^\\.\\/chunks\\/program-[\\w-]+\\.js$/.test(specifier) && context.parentURL?.endsWith("/cli/main.js")) {
    writeSync(2, "loading of the CLI held\\n");
    await new Promise((done) => setTimeout(done, 2000));
  }
  return next(specifier, context);
}
`,
    );
    const preload = join(tmpdir(), `plugchat-sync-slow-loading-${process.pid}-register.mjs`);
    writeFileSync(
      preload,
      `import { register } from "node:module";
register(${JSON.stringify(pathToFileURL(hooks).href)});
`,
    );
    return preload;
  }

  /** The URL with another port (a closed one, to be refused). */
  function withPort(url: string, port: number): string {
    const changed = new URL(url);
    changed.port = String(port);
    return changed.toString();
  }

  const finishedLines = (...workers: CliProcess[]) =>
    workers.flatMap((worker) => worker.logs().filter((line) => line.msg === "sync run finished"));

  beforeAll(async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
    queues = { ...testQueueSettings(kind, database.url, prefix), redisUrl };
    await prepareQueues(queues);
    inspection = inspectQueues(queues);
  });

  afterEach(async () => {
    simulator.clearFaults();
    for (const started of processes.splice(0)) {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGKILL");
      await started.exited;
    }
  });

  afterAll(async () => {
    await inspection.close();
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
    await simulator.close();
  });

  describe("plugchat-sync trigger", () => {
    it("--wait --json queues a manual run that a worker runs, and prints its summary; the queues never hold the token", async () => {
      const logs = captureLogs();
      const worker = workerHere(logs.logger);
      try {
        await worker.ready;
        const before = await lastRunId();
        const trigger = spawnCli(["trigger", "--wait", "--json"], env());
        processes.push(trigger);
        const { code } = await trigger.exited;

        expect(trigger.stderr()).not.toMatch(/error/);
        expect(code).toBe(0);
        const summary = JSON.parse(trigger.stdout());
        expect(summary).toMatchObject({
          runId: before + 1,
          trigger: "manual",
          status: "succeeded",
          accountsTotal: ACCOUNTS,
          accountsChanged: ACCOUNTS,
        });
        expect(await prisma.account.count({ where: { lastStatus: "ok" } })).toBe(ACCOUNTS);
      } finally {
        await worker.close();
      }

      // Everything the deployment keeps is in its queues (on Redis: under QUEUE_PREFIX, in the database
      // of REDIS_URL; on PostgreSQL: nothing in Redis at all), and nothing there holds the token.
      const stored = await storedQueueStrings(queues);
      expect(stored.length).toBeGreaterThan(0);
      expect(stored.filter(({ value }) => value.includes(TOKEN))).toEqual([]);
      if (inject("redisAvailable")) expect(await redisKeys(TEST_REDIS_URL, prefix)).toEqual([]);
    });

    it("says clearly that a run is in progress, and queues nothing", async () => {
      const running = await prisma.syncRun.create({ data: { trigger: "schedule" } });
      try {
        const trigger = spawnCli(["trigger"], env());
        processes.push(trigger);
        const { code } = await trigger.exited;

        expect(code).toBe(1);
        expect(trigger.stderr().trim()).toMatch(
          new RegExp(
            `^plugchat-sync: error: a sync run is in progress \\(#${running.id}, schedule, started .*\\): no new run was started`,
          ),
        );
        expect(await inspection.runsQueue.getJobCounts("waiting", "delayed")).toEqual({
          waiting: 0,
          delayed: 0,
        });
      } finally {
        await closeRun(running.id);
      }
    });

    it("without --wait, names the run a worker started for the manual run", async () => {
      const logs = captureLogs();
      const worker = workerHere(logs.logger);
      try {
        await worker.ready;
        const before = await lastRunId();
        const trigger = spawnCli(["trigger", "--json"], env());
        processes.push(trigger);
        const { code } = await trigger.exited;

        expect(code).toBe(0);
        const printed = JSON.parse(trigger.stdout()) as { queued: boolean; runId: number; batches: number };
        expect(printed).toMatchObject({ queued: true, runId: before + 1 });
        expect(printed.batches).toBeGreaterThan(0);
        expect(await waitForRun(prisma, printed.runId, { pollMs: 50 })).toMatchObject({
          trigger: "manual",
          status: "succeeded",
        });
      } finally {
        await worker.close();
      }
    });

    it("without --wait, a run that opens before a worker takes the manual run refuses it, naming that run", async () => {
      const logs = captureLogs();
      let worker: SyncWorker | undefined;
      let overtaking: { id: number } | undefined;
      try {
        const trigger = spawnCli(["trigger"], env());
        processes.push(trigger);
        await waitFor(
          "the manual run queued, no worker running",
          async () => (await inspection.runsQueue.getJobCounts("waiting")).waiting === 1,
          15_000,
        );
        // A scheduled run opens before any worker takes the manual run: the worker skips it.
        overtaking = await prisma.syncRun.create({ data: { trigger: "schedule" } });
        worker = workerHere(logs.logger);
        await worker.ready;
        const { code } = await trigger.exited;

        expect(code).toBe(1);
        expect(trigger.stderr().trim().split("\n").at(-1)).toMatch(
          new RegExp(
            `^plugchat-sync: error: a sync run is in progress \\(#${overtaking.id}, schedule, started .*\\): no new run was started`,
          ),
        );
        expect(trigger.stdout()).toBe("");
        expect(logs.withMessage("sync fire skipped: another run is still going")).toHaveLength(1);
        expect(await inspection.runsQueue.getJobCounts("waiting", "delayed")).toEqual({
          waiting: 0,
          delayed: 0,
        });
      } finally {
        await worker?.close();
        if (overtaking) await closeRun(overtaking.id);
      }
    });

    it("--wait starts the manual run after the run in progress has finished, not beside it", async () => {
      const inProgress = await prisma.syncRun.create({ data: { trigger: "schedule" } });
      const logs = captureLogs();
      const worker = workerHere(logs.logger);
      try {
        await worker.ready;
        const trigger = spawnCli(["trigger", "--wait", "--json"], env());
        processes.push(trigger);
        await waitFor(
          "the trigger waiting for the run in progress",
          () =>
            trigger
              .logs()
              .some(
                (line) =>
                  line.msg === "a sync run is in progress: the manual run starts when it has finished" &&
                  line.runId === inProgress.id,
              ),
          15_000,
        );
        await sleep(1_000);
        expect(await lastRunId()).toBe(inProgress.id);
        expect(trigger.child.exitCode).toBeNull();

        await closeRun(inProgress.id);
        const { code } = await trigger.exited;

        expect(code).toBe(0);
        expect(JSON.parse(trigger.stdout())).toMatchObject({
          runId: inProgress.id + 1,
          trigger: "manual",
          status: "succeeded",
          accountsTotal: ACCOUNTS,
        });
        expect(logs.withMessage("sync fire skipped: another run is still going")).toEqual([]);
      } finally {
        await worker.close();
        await closeRun(inProgress.id);
      }
    });

    it("--wait stopped by Ctrl-C stops waiting at once (exit 130), saying that the manual run stays queued", async () => {
      const trigger = spawnCli(["trigger", "--wait"], env());
      processes.push(trigger);
      try {
        // No worker runs: the manual run's start job waits in the queue.
        await waitFor(
          "the manual run queued",
          () => trigger.logs().some((line) => String(line.msg).startsWith("no worker is connected")),
          15_000,
        );

        trigger.child.kill("SIGINT");
        const { code } = await trigger.exited;

        expect(code).toBe(130);
        expect(trigger.stderr().trim().split("\n").at(-1)).toMatch(
          /^plugchat-sync: SIGINT: stopped waiting; the manual run \(job \S+\) stays queued: a worker starts it$/,
        );
        expect(await inspection.runsQueue.getJobCounts("waiting")).toEqual({ waiting: 1 });
      } finally {
        await inspection.runsQueue.drain();
      }
    });

    it("--wait --timeout gives up in one line when the run in progress outlasts it, and queues nothing", async () => {
      const inProgress = await prisma.syncRun.create({ data: { trigger: "schedule" } });
      try {
        const trigger = spawnCli(["trigger", "--wait", "--timeout", "1s"], env());
        processes.push(trigger);
        const { code } = await trigger.exited;

        expect(code).toBe(1);
        expect(trigger.stderr().trim().split("\n").at(-1)).toBe(
          `plugchat-sync: error: run #${inProgress.id} was still going at the --timeout: no manual run was started; follow it with plugchat-sync report --runs 1`,
        );
        expect(trigger.stdout()).toBe("");
        expect(await inspection.runsQueue.getJobCounts("waiting", "delayed")).toEqual({
          waiting: 0,
          delayed: 0,
        });
      } finally {
        await closeRun(inProgress.id);
      }
    });

    it("a manual run overtaken by a run that opened first is queued again once that run has finished", async () => {
      const logs = captureLogs();
      const producer = openProducer(await connectProducerBackend(queues, { logger: logs.logger }));
      let worker: SyncWorker | undefined;
      let overtaking: { id: number } | undefined;
      const queued: string[] = [];
      const waitedFor: number[] = [];
      let overtakingClosed: Promise<unknown> | undefined;
      try {
        const started = await startManualRunWhenIdle(prisma, producer, {
          pollMs: 50,
          // The first fire is queued while no worker runs; a scheduled run opens before a worker
          // takes it, so the worker skips it.
          onQueued: async (jobId) => {
            queued.push(jobId);
            if (queued.length > 1) return;
            overtaking = await prisma.syncRun.create({ data: { trigger: "schedule" } });
            worker = workerHere(logs.logger);
            await worker.ready;
          },
          // The overtaking run finishes a little later.
          onWaiting: (running) => {
            waitedFor.push(running.runId);
            overtakingClosed = sleep(300).then(() => closeRun(running.runId));
          },
        });
        await overtakingClosed;

        expect(queued).toHaveLength(2);
        expect(waitedFor).toEqual([overtaking?.id]);
        expect(logs.withMessage("sync fire skipped: another run is still going")).toHaveLength(1);
        expect(started.runId).toBeGreaterThan(overtaking?.id ?? Number.POSITIVE_INFINITY);
        const run = await waitForRun(prisma, started.runId, { pollMs: 50 });
        expect(run).toMatchObject({ trigger: "manual", status: "succeeded", accountsTotal: ACCOUNTS });
      } finally {
        await worker?.close();
        await producer.close();
        if (overtaking) await closeRun(overtaking.id);
      }
    });

    it("fails fast with one clear line when the queues are unreachable", async () => {
      const started = Date.now();
      const unreachable: Record<string, string> =
        kind === "redis" ? { REDIS_URL: "redis://127.0.0.1:1" } : { DATABASE_URL: withPort(database.url, 1) };
      const trigger = spawnCli(["trigger", "--wait"], env(unreachable));
      processes.push(trigger);
      const { code } = await trigger.exited;

      expect(code).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(trigger.stderr().trim().split("\n")).toEqual([
        kind === "redis"
          ? expect.stringMatching(
              /^plugchat-sync: error: Cannot reach Redis at 127\.0\.0\.1:1: .*ECONNREFUSED/,
            )
          : expect.stringMatching(
              /^plugchat-sync: error: Cannot reach PostgreSQL at 127\.0\.0\.1:1 \(connection refused\)/,
            ),
      ]);
      expect(trigger.stdout()).toBe("");
    });

    it("--wait gives up with one line when the run is abandoned (no worker reports on it)", async () => {
      // A run opened by a worker that then went away for good: its heartbeat stops.
      const abandoned = await prisma.syncRun.create({
        data: { trigger: "manual", heartbeatAt: new Date(Date.now() - 10 * 60_000) },
      });
      try {
        await expect(waitForRun(prisma, abandoned.id, { pollMs: 20 })).rejects.toThrow(
          new RegExp(`^run #${abandoned.id} looks abandoned: no worker has reported on it for 300 s`),
        );
      } finally {
        await closeRun(abandoned.id);
      }
    });
  });

  describe("plugchat-sync worker", () => {
    it("shares one run between two processes, holding PLUGCHAT_MAX_RPS for both together, and closes it once", async () => {
      simulator.setFault({ type: "latency", ms: 30 });
      const maxRps = 10;
      const workers = [
        startWorkerProcess({ PLUGCHAT_MAX_RPS: String(maxRps) }),
        startWorkerProcess({ PLUGCHAT_MAX_RPS: String(maxRps) }),
      ];
      await Promise.all(workers.map(ready));
      const before = await lastRunId();
      simulator.resetStats();

      await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
      const run = await closedRunAfter(before);

      expect(run).toMatchObject({
        status: "succeeded",
        accountsTotal: ACCOUNTS,
        accountsUnchanged: ACCOUNTS,
      });
      const batches = await prisma.syncRunBatch.findMany({ where: { runId: run.id } });
      expect(batches).toHaveLength(ACCOUNTS / 2);
      const writers = new Set(batches.map((batch) => Number(batch.writtenBy.split(":").pop())));
      expect(writers).toEqual(new Set(workers.map((worker) => worker.child.pid)));
      for (const worker of workers) {
        expect(worker.logs().filter((line) => line.msg === "sync batch written").length).toBeGreaterThan(0);
      }
      await waitFor("the run's finished line", () => finishedLines(...workers).length > 0, 5_000);
      expect(finishedLines(...workers)).toHaveLength(1);
      // Requests of both processes together, 1/PLUGCHAT_MAX_RPS apart: 8 requests take 700 ms at least.
      // With a cap per process instead, the two would send side by side, in about half that time. (Gaps
      // between single requests are not compared: arrival times jitter with this busy test process.)
      const times = simulator
        .requests()
        .map((request) => request.at)
        .sort((a, b) => a - b);
      expect(times).toHaveLength(ACCOUNTS);
      const interval = 1000 / maxRps;
      expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThan(
        (ACCOUNTS - 1) * interval - 100,
      );

      for (const worker of workers) worker.child.kill("SIGTERM");
      expect(await Promise.all(workers.map((worker) => worker.exited))).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
    });

    it("serves /readyz, /metrics and the status page's health (its own process as a live worker), and POSTs a run that did not succeed to SYNC_NOTIFY_URL", async () => {
      const received: unknown[] = [];
      const receiver = createServer((request, response) => {
        let body = "";
        request.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        request.on("end", () => {
          received.push(JSON.parse(body));
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
      try {
        const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
        const worker = startWorkerProcess({ PLUGCHAT_TOKEN: "a-revoked-token", SYNC_NOTIFY_URL: hook });
        await ready(worker);
        const port = await waitFor(
          "the health endpoint's port",
          () => worker.logs().find((line) => line.msg === "health and metrics endpoint listening")?.port,
        );
        const before = await lastRunId();

        await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
        const run = await closedRunAfter(before);
        await waitFor("the notification", () => received.length > 0, 10_000);

        expect(run).toMatchObject({ status: "failed", error: expect.stringMatching(/refused the token/) });
        expect(received).toEqual([
          expect.objectContaining({
            event: "sync_run.finished",
            runId: run.id,
            status: "failed",
            trigger: "manual",
          }),
        ]);
        const readiness = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(readiness.status).toBe(200);
        const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(scrape).toMatch(/^plugchat_sync_runs_total\{status="failed"\} 1$/m);
        expect(scrape).toMatch(
          /^plugchat_sync_plugchat_request_duration_seconds_count\{.*status="401".*\} [1-9]/m,
        );
        // Read from the database (account_mismatches), every field listed: none expected here.
        expect(scrape).toMatch(/^plugchat_sync_mismatches\{field="name"\} 0$/m);
        expect(scrape).not.toContain("a-revoked-token");
        // The status page's health: this worker process on the queues, no schedule, the failed run.
        const health = (await (await fetch(`http://127.0.0.1:${port}/api/health`)).json()) as HealthPanel;
        expect(health).toMatchObject({ state: "failing", schedule: null });
        expect(health.workers).toEqual([expect.stringMatching(new RegExp(`:${worker.child.pid}$`))]);
        expect(health.reasons[0]?.text).toMatch(
          new RegExp(`^the last run \\(#${run.id}\\) failed: .*refused the token`),
        );
        worker.child.kill("SIGTERM");
        expect(await worker.exited).toEqual({ code: 0, signal: null });
      } finally {
        await new Promise((resolve) => receiver.close(resolve));
      }
    });

    it("signalled while still starting, stops gracefully and exits 0", async () => {
      const worker = startWorkerProcess({ NODE_OPTIONS: `--import ${slowCliLoading()}` });
      // While the CLI is still loading: nothing logged yet, no command run.
      await waitFor(
        "the CLI's loading held",
        () => worker.stderr().includes("loading of the CLI held"),
        10_000,
        2,
      );
      expect(worker.logs()).toEqual([]);
      worker.child.kill("SIGTERM");
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(worker.logs().map((line) => line.msg)).not.toContain("worker ready");
    });

    it("on SIGTERM stops taking jobs, finishes its in-flight batches, closes its connections and exits 0", async () => {
      simulator.setFault({ type: "latency", ms: 600 });
      const worker = startWorkerProcess();
      await ready(worker);
      const before = await lastRunId();

      await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
      // Its batch and the next one, taken to fill the first one's tail.
      const active = await waitFor("two active batches", async () => {
        const jobs = await inspection.batchesQueue.getActive();
        return jobs.length === 2 ? jobs : undefined;
      });
      worker.child.kill("SIGTERM");
      const exit = await worker.exited;

      expect(exit).toEqual({ code: 0, signal: null });
      const runId = before + 1;
      const written = await prisma.syncRunBatch.findMany({ where: { runId } });
      const indexes = (batches: { batchIndex: number }[]) => batches.map((batch) => batch.batchIndex).sort();
      expect(indexes(written)).toEqual(indexes(active.map((job) => job.data)));
      for (const job of active)
        expect(await inspection.batchesQueue.getJobState(job.id as string)).toBe("completed");
      expect(await inspection.batchesQueue.getWaitingCount()).toBe(ACCOUNTS / 2 - 2);
      expect(worker.logs().map((line) => line.msg)).toEqual(
        expect.arrayContaining([
          "signal received: stopping the worker",
          "sync batch written",
          "worker stopped",
        ]),
      );

      // The rest of the run waits in the queue for the next worker.
      simulator.clearFaults();
      const next = startWorkerProcess();
      const run = await closedRunAfter(before);
      expect(run).toMatchObject({ id: runId, status: "succeeded", accountsTotal: ACCOUNTS });
      next.child.kill("SIGTERM");
      expect(await next.exited).toEqual({ code: 0, signal: null });
    });

    it("after SIGKILL of a worker mid-batch, another worker takes the batch over: the run finishes once, no count or drift doubled", async () => {
      // A baseline, then two fields change on every account: the run must record two drift rows for each.
      const baseline = captureLogs();
      const client = createPlugchatClient({
        baseUrl: simulator.url,
        token: TOKEN,
        timeoutMs: 2_000,
        maxAttempts: 1,
        maxRps: 0,
      });
      await runSync({ prisma, client, logger: baseline.logger }, { trigger: "cli", concurrency: 4 });
      for (const id of simulator.listIds()) {
        simulator.setAccount(id, { name: `killed ${id}`, active: !simulator.getAccount(id)?.active });
      }
      simulator.setFault({ type: "latency", ms: 400 });
      const victim = startWorkerProcess();
      const survivor = startWorkerProcess();
      await Promise.all([ready(victim), ready(survivor)]);
      const before = await lastRunId();

      await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
      const taken = await waitFor("a batch taken by the victim", async () => {
        const jobs = await inspection.batchesQueue.getActive();
        return jobs.find((job) => job.processedBy?.endsWith(`:${victim.child.pid}`));
      });
      victim.child.kill("SIGKILL");
      await victim.exited;
      const run = await closedRunAfter(before, 20_000);

      expect(run).toMatchObject({
        status: "succeeded",
        accountsTotal: ACCOUNTS,
        accountsChanged: ACCOUNTS,
        driftCount: ACCOUNTS * 2,
      });
      const drift = await prisma.accountDrift.groupBy({
        by: ["accountId", "field"],
        where: { syncRunId: run.id },
        _count: true,
      });
      expect(drift).toHaveLength(ACCOUNTS * 2);
      expect(drift.every((group) => group._count === 1)).toBe(true);
      const batches = await prisma.syncRunBatch.findMany({
        where: { runId: run.id },
        orderBy: { batchIndex: "asc" },
      });
      expect(batches.map((batch) => batch.batchIndex)).toEqual([0, 1, 2, 3]);
      expect(batches.reduce((sum, batch) => sum + batch.accounts, 0)).toBe(ACCOUNTS);
      expect(batches.find((batch) => batch.batchIndex === taken.data.batchIndex)?.writtenBy).toMatch(
        new RegExp(`:${survivor.child.pid}$`),
      );
      expect(
        survivor
          .logs()
          .some((line) => line.msg === "batch job stalled (its worker stopped): it goes back to the queue"),
      ).toBe(true);
      await waitFor("the run's finished line", () => finishedLines(survivor).length > 0, 5_000);
      expect(finishedLines(victim, survivor)).toHaveLength(1);
      for (const id of simulator.listIds()) {
        expect(await prisma.account.findUniqueOrThrow({ where: { id } })).toMatchObject(
          simulator.getAccount(id) ?? {},
        );
      }
    });
  });
});
