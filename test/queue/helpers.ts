// Shared by the worker's tests: a queue prefix of their own, the built CLI as child processes, and
// in-process workers against the Plugchat simulator (on either queue backend: see backends.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { PrismaClient } from "../../src/db/prisma.js";
import type { Logger } from "../../src/logger.js";
import { createPlugchatClient } from "../../src/plugchat/index.js";
import { createWorkerBackend, type QueueBackendSettings } from "../../src/queue/backend/index.js";
import { type SyncWorker, type SyncWorkerOptions, startWorker } from "../../src/queue/worker.js";

/** A QUEUE_PREFIX of one test file's own, so that files running at once never see each other's jobs. */
export function uniquePrefix(): string {
  return `plugchat-sync-test-${randomBytes(5).toString("hex")}`;
}

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

export interface CliProcess {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** JSON log lines on stderr, parsed (other lines skipped). */
  logs(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built CLI (`npm run build` first) as a child process. */
export function spawnCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, ["dist/cli/main.js", ...args], {
    env: { ...process.env, LOG_PRETTY: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      err
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
  };
}

export interface InProcessWorkerSetup {
  prisma: PrismaClient;
  logger: Logger;
  simulatorUrl: string;
  token: string;
  queues: QueueBackendSettings;
  /** Redis only: the longest wait between two reconnection attempts. */
  maxReconnectDelayMs?: number;
}

/** A worker in this process with short timings, against the simulator; close it after the test. */
export function inProcessWorker(
  setup: InProcessWorkerSetup,
  options: Partial<SyncWorkerOptions> = {},
): SyncWorker {
  const client = createPlugchatClient({
    baseUrl: setup.simulatorUrl,
    token: setup.token,
    timeoutMs: 2_000,
    maxAttempts: 2,
    maxRps: 0,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    logger: setup.logger,
  });
  return startWorker(
    { prisma: setup.prisma, client, logger: setup.logger },
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
