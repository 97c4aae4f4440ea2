// Shared by the worker's tests: a queue prefix of their own, the built CLI as child processes,
// in-process workers against the Plugchat simulator (on either queue backend: see backends.ts), and
// the environment most of them share (useWorkerTestEnvironment).
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { QueueBackendName } from "../../src/config/index.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import type { Logger } from "../../src/logger.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import { createWorkerBackend, type QueueBackendSettings } from "../../src/queue/backend/index.js";
import { BATCHES_QUEUE, RUNS_QUEUE, START_RUN_JOB } from "../../src/queue/jobs.js";
import { type SyncWorker, type SyncWorkerOptions, startWorker } from "../../src/queue/worker.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { OutageSettings } from "../../src/sync/outage-detector.js";
import { type CliProcess, inheritedEnv, spawnCli as spawnCliWith } from "../helpers/cli.js";
import type { TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { deleteQueueData, inspectionBackend, migratedQueueDatabase } from "./backends.js";

export { uniquePrefix } from "./prefix.js";

/** Polls until `probe` returns something truthy, or fails after `timeoutMs` saying what was awaited. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Starts the built CLI with this process's environment and `env` on top (log lines as JSON). */
export function spawnCli(args: string[], env: Record<string, string>): CliProcess {
  return spawnCliWith(args, inheritedEnv(env));
}

export interface InProcessWorkerSetup {
  prisma: PrismaClient;
  logger: Logger;
  simulatorUrl: string;
  token: string;
  queues: QueueBackendSettings;
  /** Redis only: the longest wait between two reconnection attempts. */
  maxReconnectDelayMs?: number;
  /** The worker's Plugchat client; default one of the simulator with short timings. */
  client?: PlugchatClient;
  /** When Plugchat counts as down, and for how long a run waits for it; the defaults when absent. */
  outage?: OutageSettings;
}

/** The Plugchat client of an in-process worker: the simulator's, with short timings. */
export function simulatorClient(setup: Pick<InProcessWorkerSetup, "simulatorUrl" | "token" | "logger">) {
  return createPlugchatClient({
    baseUrl: setup.simulatorUrl,
    token: setup.token,
    timeoutMs: 2_000,
    maxAttempts: 2,
    maxRps: 0,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    logger: setup.logger,
  });
}

/** A worker in this process with short timings, against the simulator; close it after the test. */
export function inProcessWorker(
  setup: InProcessWorkerSetup,
  options: Partial<SyncWorkerOptions> = {},
): SyncWorker {
  const client = setup.client ?? simulatorClient(setup);
  return startWorker(
    { prisma: setup.prisma, client, logger: setup.logger, outage: setup.outage },
    {
      backend: createWorkerBackend(setup.queues, {
        logger: setup.logger,
        ...(setup.maxReconnectDelayMs === undefined
          ? {}
          : { maxReconnectDelayMs: setup.maxReconnectDelayMs }),
      }),
      cron: "off",
      timezone: "UTC",
      batchSize: 2,
      concurrency: 2,
      lockDurationMs: 5_000,
      stalledIntervalMs: 2_000,
      heartbeatEveryMs: 1_000,
      retry: { batchAttempts: 3, retryDelayMs: 50 },
      ...options,
    },
  );
}

export interface TcpProxy {
  readonly port: number;
  /** Connections attempted so far, refused ones included. */
  attempts(): number;
  /** The server "goes away": open connections are reset, new ones reset as soon as they connect. */
  cut(): void;
  /** It comes back. */
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of a real server, to take it away for a while without stopping it. */
export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let attempts = 0;
  let down = false;
  const server = createServer((client) => {
    attempts++;
    client.on("error", () => undefined);
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    upstream.on("error", () => undefined);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    attempts: () => attempts,
    cut: () => {
      down = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore: () => {
      down = false;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The test's own view of the deployment's queues, beside the workers'. */
export interface QueueInspection {
  runsQueue: Queue;
  batchesQueue: Queue;
  close(): Promise<void>;
}

export function inspectQueues(queues: QueueBackendSettings): QueueInspection {
  const backend = inspectionBackend(queues);
  const runsQueue = backend.queue(RUNS_QUEUE);
  const batchesQueue = backend.queue(BATCHES_QUEUE);
  return {
    runsQueue,
    batchesQueue,
    close: async () => {
      await runsQueue.close();
      await batchesQueue.close();
      await backend.close();
    },
  };
}

type SyncRunRow = NonNullable<Awaited<ReturnType<PrismaClient["syncRun"]["findFirst"]>>>;

/** What a test of in-process workers has, fresh for each test but the simulator (one per file). */
export interface WorkerTestEnvironment {
  readonly simulator: Simulator;
  readonly database: TestDatabase;
  /** The test's own client of the database. */
  readonly prisma: PrismaClient;
  /** The workers' logs. */
  readonly logs: CapturedLogs;
  readonly queues: QueueBackendSettings;
  readonly runsQueue: Queue;
  readonly batchesQueue: Queue;
  /** A worker in this process (see inProcessWorker), closed after the test. */
  worker(options?: Partial<SyncWorkerOptions>, setup?: Partial<InProcessWorkerSetup>): SyncWorker;
  /** Closes the workers started so far (after each test anyway). */
  closeWorkers(): Promise<void>;
  /** Queues a manual run's start job, as `plugchat-sync trigger` does. */
  startManualRun(): Promise<unknown>;
  /** The first run closed, once there is one. */
  closedRun(timeoutMs?: number): Promise<SyncRunRow>;
}

/**
 * Registers the hooks of a file of worker tests on queues of `kind`: one simulator of `accounts`
 * accounts for the file; for each test a migrated database holding those accounts, queues of its own,
 * captured logs, and the simulator's faults and counts cleared.
 */
export function useWorkerTestEnvironment(
  kind: QueueBackendName,
  settings: { token: string; accounts: number },
): WorkerTestEnvironment {
  let simulator: Simulator;
  let database: TestDatabase;
  let prisma: PrismaClient;
  let logs: CapturedLogs;
  let queues: QueueBackendSettings;
  let inspection: QueueInspection;
  const workers: SyncWorker[] = [];
  const closeWorkers = async () => {
    await Promise.all(workers.splice(0).map((started) => started.close()));
  };

  beforeAll(async () => {
    simulator = await startSimulator({ token: settings.token, accounts: settings.accounts });
  });
  afterAll(async () => {
    await simulator.close();
  });
  beforeEach(async () => {
    ({ database, queues } = await migratedQueueDatabase(kind));
    inspection = inspectQueues(queues);
    prisma = createPrismaClient(database.url);
    logs = captureLogs();
    simulator.clearFaults();
    simulator.resetStats();
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
  });
  afterEach(async () => {
    await closeWorkers();
    await inspection.close();
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
  });

  return {
    get simulator() {
      return simulator;
    },
    get database() {
      return database;
    },
    get prisma() {
      return prisma;
    },
    get logs() {
      return logs;
    },
    get queues() {
      return queues;
    },
    get runsQueue() {
      return inspection.runsQueue;
    },
    get batchesQueue() {
      return inspection.batchesQueue;
    },
    worker: (options = {}, setup = {}) => {
      const started = inProcessWorker(
        { prisma, logger: logs.logger, simulatorUrl: simulator.url, token: settings.token, queues, ...setup },
        options,
      );
      workers.push(started);
      return started;
    },
    closeWorkers,
    startManualRun: () => inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" }),
    closedRun: (timeoutMs = 20_000) =>
      waitFor(
        "a closed run",
        () => prisma.syncRun.findFirst({ where: { status: { not: "running" } }, orderBy: { id: "asc" } }),
        timeoutMs,
      ),
  };
}
