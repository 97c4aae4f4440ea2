import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis, type RedisOptions } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  createRedisRateLimiter,
  RateLimiterUnavailableError,
} from "../../src/queue/backend/redis-rate-limiter.js";
import { closedPort } from "../helpers/free-port.js";
import {
  collect,
  gaps,
  LIMITER_RUNTIME_SOURCES,
  waitForLine,
  wallNow,
  writeTranspiledCopies,
} from "../helpers/rate-limiter-processes.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
// Node timers may fire up to about a millisecond early.
const TIMER_SLACK_MS = 2;
// Between two consecutive grants, more: a grant whose timer fires late (a busy machine, the whole suite
// running) comes closer to the next one, and replies from Redis arrive a little unevenly. Grants of
// limiters that did not share the schedule would come about 0 ms apart.
const GAP_SLACK_MS = 30;

const connections: Redis[] = [];
const keys: string[] = [];

function connect(options: RedisOptions = {}, url = REDIS_URL): Redis {
  const redis = new Redis(url, { ...options });
  redis.on("error", () => undefined); // refused connections are expected in some tests
  connections.push(redis);
  return redis;
}

function uniqueKey(): string {
  const key = `plugchat-sync-test:rate-limit:${randomBytes(6).toString("hex")}`;
  keys.push(key);
  return key;
}

afterEach(async () => {
  if (keys.length > 0) {
    const cleaner = new Redis(REDIS_URL);
    await cleaner.del(...keys.splice(0));
    await cleaner.quit();
  }
  for (const redis of connections.splice(0)) redis.disconnect();
});

describe.skipIf(!inject("redisAvailable"))("createRedisRateLimiter", () => {
  it("spaces the grants of two connections sharing a key 1/maxRps apart", async () => {
    const key = uniqueKey();
    const first = createRedisRateLimiter({ redis: connect(), key, maxRps: 20 });
    const second = createRedisRateLimiter({ redis: connect(), key, maxRps: 20 });
    const startedAt = performance.now();
    const granted: number[] = [];
    const take = (limiter: typeof first) =>
      limiter.acquire().then(() => granted.push(performance.now() - startedAt));
    await Promise.all([
      ...Array.from({ length: 6 }, () => take(first)),
      ...Array.from({ length: 6 }, () => take(second)),
    ]);
    granted.sort((a, b) => a - b);
    expect(granted).toHaveLength(12);
    // Lower bounds only. Every pair of consecutive grants, whichever connection got them, is 50 ms apart...
    for (const gap of gaps(granted)) expect(gap).toBeGreaterThanOrEqual(50 - GAP_SLACK_MS);
    // ...and the k-th grant comes no sooner than k intervals after the first request.
    granted.forEach((at, k) => {
      expect(at).toBeGreaterThanOrEqual(k * 50 - TIMER_SLACK_MS);
    });
  });

  it("spaces the grants of two Node processes sharing a key", async () => {
    const key = uniqueKey();
    const workDir = await mkdtemp(join(tmpdir(), "plugchat-sync-limiter-"));
    try {
      const childScript = await buildChildScript(workDir);
      const child = spawn(process.execPath, [childScript, REDIS_URL, key, "20", "5"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      const output = collect(child.stdout);
      await waitForLine(output, "ready");

      const limiter = createRedisRateLimiter({ redis: connect(), key, maxRps: 20 });
      child.stdin.write("go\n");
      const mine: number[] = [];
      await Promise.all(Array.from({ length: 5 }, () => limiter.acquire().then(() => mine.push(wallNow()))));

      expect(await exited).toBe(0);
      const theirs = JSON.parse(
        output
          .text()
          .split("\n")
          .find((line) => line.startsWith("[")) ?? "[]",
      );
      expect(theirs).toHaveLength(5);
      // The wall clocks of two Node processes of one machine agree to well under a millisecond or two.
      for (const gap of gaps([...mine, ...theirs])) expect(gap).toBeGreaterThanOrEqual(50 - GAP_SLACK_MS - 2);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it("keeps the next free slot under the given key with an expiry", async () => {
    const key = uniqueKey();
    const redis = connect();
    const limiter = createRedisRateLimiter({ redis, key, maxRps: 2 });
    await limiter.acquire();
    const [[, stored], [, pttl]] = (await redis.multi().get(key).pttl(key).exec()) as [
      [null, string],
      [null, number],
    ];
    const [seconds] = await redis.time();
    // The slot after this one starts 500 ms after now (Redis time), in microseconds.
    expect(Number(stored)).toBeGreaterThan(Number(seconds) * 1_000_000);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(500 + 1000);
  });

  it("makes no Redis call at all when maxRps is 0", async () => {
    const redis = connect({ lazyConnect: true });
    const limiter = createRedisRateLimiter({ redis, key: uniqueKey(), maxRps: 0 });
    await Promise.all(Array.from({ length: 100 }, () => limiter.acquire()));
    // A lazy connection connects on its first command: it never had one.
    expect(redis.status).toBe("wait");
  });

  it("connects a lazy connection on first use", async () => {
    const redis = connect({ lazyConnect: true });
    const limiter = createRedisRateLimiter({ redis, key: uniqueKey(), maxRps: 100 });
    await limiter.acquire();
    expect(redis.status).toBe("ready");
  });

  it("stops waiting for its slot with the signal's reason when aborted", async () => {
    const key = uniqueKey();
    const limiter = createRedisRateLimiter({ redis: connect(), key, maxRps: 1 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const reason = new Error("run cancelled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(waiting).rejects.toBe(reason);
  });

  it("fails the acquire with a clear error, without hanging, when Redis is unreachable", async () => {
    const port = await closedPort();
    // Like BullMQ's connections: commands would wait for a reconnection forever.
    const redis = connect(
      { maxRetriesPerRequest: null, retryStrategy: () => 50 },
      `redis://127.0.0.1:${port}`,
    );
    const limiter = createRedisRateLimiter({ redis, key: uniqueKey(), maxRps: 10, redisTimeoutMs: 300 });
    const startedAt = performance.now();
    const error = await limiter.acquire().then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(/Redis did not answer within 300 ms .*request was not sent/);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(300 - TIMER_SLACK_MS);
  });

  it("waits for a reconnection that comes within the timeout", async () => {
    const port = await closedPort();
    const redis = connect(
      { maxRetriesPerRequest: null, retryStrategy: () => 20 },
      `redis://127.0.0.1:${port}`,
    );
    const limiter = createRedisRateLimiter({ redis, key: uniqueKey(), maxRps: 10, redisTimeoutMs: 10_000 });
    const acquired = limiter.acquire();
    // Redis "comes back" 200 ms later: a proxy to the real one starts listening on that port.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(redis.status).not.toBe("ready");
    const redisAddress = new URL(REDIS_URL);
    const sockets = new Set<Socket>();
    const proxy = createServer((socket) => {
      const upstream = connectTcp(Number(redisAddress.port || 6379), redisAddress.hostname);
      for (const end of [socket, upstream]) {
        sockets.add(end);
        end.on("error", () => undefined);
        end.on("close", () => {
          socket.destroy();
          upstream.destroy();
        });
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
    try {
      await expect(acquired).resolves.toBeUndefined();
    } finally {
      redis.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("fails at once when the connection was closed", async () => {
    const redis = connect();
    const ended = new Promise((resolve) => redis.once("end", resolve));
    await redis.quit();
    await ended;
    const limiter = createRedisRateLimiter({ redis, key: uniqueKey(), maxRps: 10, redisTimeoutMs: 60_000 });
    await expect(limiter.acquire()).rejects.toThrow(/connection is closed/);
  });

  it("reports a Redis error as the limiter being unavailable", async () => {
    const key = uniqueKey();
    const redis = connect();
    await redis.rpush(key, "not a slot"); // wrong type: GET fails inside the script
    const limiter = createRedisRateLimiter({ redis, key, maxRps: 10 });
    await expect(limiter.acquire()).rejects.toThrow(RateLimiterUnavailableError);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses maxRps %s", (maxRps) => {
    expect(() => createRedisRateLimiter({ redis: connect({ lazyConnect: true }), key: "k", maxRps })).toThrow(
      RangeError,
    );
  });
});

/**
 * Writes a plain-JS copy of the limiter (transpiled with TypeScript, as the build would) and a script
 * that uses it from another process: it connects, prints "ready", waits for "go" on stdin, acquires N
 * slots at once and prints their wall-clock grant times as JSON.
 */
async function buildChildScript(workDir: string): Promise<string> {
  await writeTranspiledCopies(workDir, ["queue/backend/redis-rate-limiter.ts", ...LIMITER_RUNTIME_SOURCES]);
  const ioredis = pathToFileURL(createRequire(import.meta.url).resolve("ioredis")).href;
  const script = join(workDir, "child.js");
  await writeFile(
    script,
    `
import { createInterface } from "node:readline";
import ioredis from ${JSON.stringify(ioredis)};
import { createRedisRateLimiter } from "./queue/backend/redis-rate-limiter.js";
const [url, key, maxRps, count] = process.argv.slice(2);
const redis = new ioredis.Redis(url);
await redis.ping();
const limiter = createRedisRateLimiter({ redis, key, maxRps: Number(maxRps) });
console.log("ready");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === "go") break;
const granted = [];
await Promise.all(Array.from({ length: Number(count) }, () =>
  limiter.acquire().then(() => granted.push(performance.timeOrigin + performance.now()))));
console.log(JSON.stringify(granted));
redis.disconnect();
process.exit(0);
`,
  );
  return script;
}
