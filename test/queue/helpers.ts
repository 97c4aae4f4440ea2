// Shared by the worker's tests: a Redis key prefix of their own, the built CLI as child processes, and
// in-process workers against the Plugchat simulator.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { PrismaClient } from "../../src/db/prisma.js";
import type { Logger } from "../../src/logger.js";
import { createPlugchatClient } from "../../src/plugchat/index.js";
import { type SyncWorker, type SyncWorkerOptions, startWorker } from "../../src/queue/worker.js";

/** Redis of the tests; database index 0 unless TEST_REDIS_URL says otherwise. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A QUEUE_PREFIX of one test file's own, so that files running at once never see each other's jobs. */
export function uniquePrefix(): string {
  return `plugchat-sync-test-${randomBytes(5).toString("hex")}`;
}

/** Every key of a prefix, with its type. */
export async function keysOf(redisUrl: string, prefix: string): Promise<string[]> {
  const redis = new Redis(redisUrl);
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return keys;
  } finally {
    redis.disconnect();
  }
}

export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const keys = await keysOf(redisUrl, prefix);
  if (keys.length === 0) return;
  const redis = new Redis(redisUrl);
  try {
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}

/** Every string stored under a prefix, whatever the key's type: to look for what must never be there. */
export async function storedStrings(
  redisUrl: string,
  prefix: string,
): Promise<{ key: string; value: string }[]> {
  const redis = new Redis(redisUrl);
  try {
    const found: { key: string; value: string }[] = [];
    for (const key of await keysOf(redisUrl, prefix)) {
      const type = await redis.type(key);
      let values: string[] = [];
      if (type === "string") values = [(await redis.get(key)) ?? ""];
      else if (type === "hash") values = Object.entries(await redis.hgetall(key)).flat();
      else if (type === "list") values = await redis.lrange(key, 0, -1);
      else if (type === "set") values = await redis.smembers(key);
      else if (type === "zset") values = await redis.zrange(key, 0, -1);
      else if (type === "stream") {
        const entries = await redis.xrange(key, "-", "+");
        values = entries.flatMap(([, fields]) => fields);
      }
      for (const value of values) found.push({ key, value });
    }
    return found;
  } finally {
    redis.disconnect();
  }
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
  prefix: string;
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
      redisUrl: REDIS_URL,
      prefix: setup.prefix,
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
