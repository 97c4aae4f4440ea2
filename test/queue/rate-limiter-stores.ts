// The stores of the global rate limiter (Redis, PostgreSQL) as the contract suite sees them
// (rate-limiter.test.ts): limiters on connections of their own, unreachable or closed stores, and a
// second Node process using the same key. Each store's own cases use these too.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis, type RedisOptions } from "ioredis";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { QueueBackendName } from "../../src/config/index.js";
import { RATE_LIMIT_TABLE } from "../../src/db/sql/queue.js";
import type { RateLimiter } from "../../src/plugchat/rate-limiter.js";
import { createPostgresRateLimiter } from "../../src/queue/backend/postgres-rate-limiter.js";
import { createRateLimitTable } from "../../src/queue/backend/queue-schema.js";
import { createRedisRateLimiter } from "../../src/queue/backend/redis-rate-limiter.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { closedPort } from "../helpers/free-port.js";
import { LIMITER_RUNTIME_SOURCES, writeTranspiledCopies } from "../helpers/rate-limiter-processes.js";
import { TEST_REDIS_URL } from "../helpers/redis-setup.js";

/** The schema of the slot table on PostgreSQL. */
export const SCHEMA = "bullmq";

export interface LimiterSettings {
  key: string;
  maxRps: number;
  /** The limiter's deadline per acquire (`timeoutMs`, or `redisTimeoutMs` on Redis). */
  timeoutMs?: number;
}

export interface LimiterStore {
  /** A key of the test's own (removed afterwards). */
  uniqueKey(): string;
  /** A limiter on a connection of its own, open and warm as a running worker's (`connections` of them). */
  limiter(settings: LimiterSettings, connections?: number): Promise<RateLimiter>;
  /** A limiter created without a connection being used: for the checks of its settings. */
  unusedLimiter(settings: LimiterSettings): RateLimiter;
  /** A limiter of maxRps 0, and whether its store was left untouched (asserted). */
  unlimited(key: string): Promise<{ limiter: RateLimiter; expectUntouched(): Promise<void> }>;
  /** A limiter whose store is at a port where nothing listens. */
  unreachable(settings: LimiterSettings): Promise<RateLimiter>;
  /** What the error says when an unreachable store gave up after 300 ms. */
  unreachableMessage: RegExp;
  /** A limiter whose connection (or pool) was closed first. */
  closed(settings: LimiterSettings): Promise<RateLimiter>;
  closedMessage: RegExp;
  /** The port of the store's server, and a limiter reaching it through another port of 127.0.0.1. */
  serverPort(): number;
  through(
    port: number,
    settings: LimiterSettings,
  ): { limiter: RateLimiter; connected(): boolean | undefined };
  /** A script for a second Node process (see childScriptBody) and its arguments. */
  childProcess(workDir: string, key: string, maxRps: number, count: number): Promise<string[]>;
}

/** The store of `kind`, with its hooks registered in the calling `describe`. */
export function useLimiterStore(kind: QueueBackendName): LimiterStore {
  return kind === "redis" ? useRedisStore() : usePostgresStore();
}

function randomKey(): string {
  return `plugchat-sync-test:rate-limit:${randomBytes(6).toString("hex")}`;
}

/** The Redis store and what its own cases need beside the contract's. */
export interface RedisLimiterStore extends LimiterStore {
  /** A connection closed after the test. */
  connect(options?: RedisOptions): Redis;
}

export function useRedisStore(): RedisLimiterStore {
  const connections: Redis[] = [];
  const keys: string[] = [];
  afterEach(async () => {
    if (keys.length > 0) {
      const cleaner = new Redis(TEST_REDIS_URL);
      await cleaner.del(...keys.splice(0));
      await cleaner.quit();
    }
    for (const redis of connections.splice(0)) redis.disconnect();
  });
  const connect = (options: RedisOptions = {}, url = TEST_REDIS_URL) =>
    redisConnection(connections, options, url);
  const limiterOn = (redis: Redis, settings: LimiterSettings) =>
    createRedisRateLimiter({
      redis,
      key: settings.key,
      maxRps: settings.maxRps,
      ...(settings.timeoutMs === undefined ? {} : { redisTimeoutMs: settings.timeoutMs }),
    });
  // Like BullMQ's connections: commands wait for a reconnection forever.
  const retrying = { maxRetriesPerRequest: null, retryStrategy: () => 20 };
  return {
    connect: (options) => connect(options),
    uniqueKey: () => {
      const key = randomKey();
      keys.push(key);
      return key;
    },
    limiter: async (settings) => limiterOn(connect(), settings),
    unusedLimiter: (settings) => limiterOn(connect({ lazyConnect: true }), settings),
    unlimited: async (key) => {
      const redis = connect({ lazyConnect: true });
      return {
        limiter: limiterOn(redis, { key, maxRps: 0 }),
        // A lazy connection connects on its first command: it never had one.
        expectUntouched: async () => expect(redis.status).toBe("wait"),
      };
    },
    unreachable: async (settings) =>
      limiterOn(connect(retrying, `redis://127.0.0.1:${await closedPort()}`), settings),
    unreachableMessage: /Redis did not answer within 300 ms .*request was not sent/,
    closed: async (settings) => {
      const redis = connect();
      const ended = new Promise((resolve) => redis.once("end", resolve));
      await redis.quit();
      await ended;
      return limiterOn(redis, settings);
    },
    closedMessage: /connection is closed/,
    serverPort: () => Number(new URL(TEST_REDIS_URL).port || 6379),
    through: (port, settings) => {
      const redis = connect(retrying, `redis://127.0.0.1:${port}`);
      return { limiter: limiterOn(redis, settings), connected: () => redis.status === "ready" };
    },
    childProcess: async (workDir, key, maxRps, count) => {
      await writeTranspiledCopies(workDir, [
        "queue/backend/redis-rate-limiter.ts",
        ...LIMITER_RUNTIME_SOURCES,
      ]);
      const ioredis = pathToFileURL(createRequire(import.meta.url).resolve("ioredis")).href;
      const script = await writeChildScript(workDir, {
        imports: `import ioredis from ${JSON.stringify(ioredis)};
import { createRedisRateLimiter } from "./queue/backend/redis-rate-limiter.js";`,
        setUp: `const redis = new ioredis.Redis(url);
await redis.ping();
const limiter = createRedisRateLimiter({ redis, key, maxRps: Number(maxRps) });`,
        tearDown: "redis.disconnect();",
      });
      return [script, TEST_REDIS_URL, key, String(maxRps), String(count)];
    },
  };
}

function redisConnection(connections: Redis[], options: RedisOptions, url: string): Redis {
  const redis = new Redis(url, { ...options });
  redis.on("error", () => undefined); // refused connections are expected in some tests
  connections.push(redis);
  return redis;
}

/** The PostgreSQL store and what its own cases need beside the contract's. */
export interface PostgresLimiterStore extends LimiterStore {
  readonly database: TestDatabase;
  connect(config?: pg.PoolConfig, url?: string): pg.Pool;
  /** The database's URL, reached through another port on 127.0.0.1 (a proxy in front of it). */
  urlThrough(port: number): string;
  /** The stored end of the key's last reserved slot, or undefined when nothing was ever reserved. */
  storedNextFree(key: string): Promise<bigint | undefined>;
}

export function usePostgresStore(): PostgresLimiterStore {
  let database: TestDatabase;
  const pools: pg.Pool[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: database.url });
    try {
      await createRateLimitTable(pool, SCHEMA);
    } finally {
      await pool.end();
    }
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => (pool.ended || pool.ending ? undefined : pool.end())));
  });
  afterAll(async () => {
    await database?.drop();
  });

  const connect = (config: pg.PoolConfig = {}, url = database.url) => {
    const pool = new pg.Pool({ connectionString: url, ...config });
    pool.on("error", () => undefined); // connections cut on purpose in some tests
    pools.push(pool);
    return pool;
  };
  const urlThrough = (port: number) => {
    const url = new URL(database.url);
    url.host = `127.0.0.1:${port}`;
    return url.toString();
  };
  const limiterOn = (pool: pg.Pool, settings: LimiterSettings) =>
    createPostgresRateLimiter({ pool, schema: SCHEMA, ...settings });
  const storedNextFree = async (key: string) => {
    const { rows } = await connect().query<{ next_free_us: string }>(
      `SELECT next_free_us FROM "${SCHEMA}".${RATE_LIMIT_TABLE} WHERE key = $1`,
      [key],
    );
    return rows[0] === undefined ? undefined : BigInt(rows[0].next_free_us);
  };
  return {
    get database() {
      return database;
    },
    connect,
    urlThrough,
    storedNextFree,
    uniqueKey: randomKey,
    // Connections opened at once (a backend forked for each) would hold up the grants' timers, not
    // the schedule: they are opened first.
    limiter: async (settings, connections = 1) => {
      const pool = connect();
      await Promise.all(Array.from({ length: connections }, () => pool.query("SELECT 1")));
      return limiterOn(pool, settings);
    },
    unusedLimiter: (settings) => limiterOn(connect(), settings),
    unlimited: async (key) => {
      const pool = connect();
      return {
        limiter: limiterOn(pool, { key, maxRps: 0 }),
        expectUntouched: async () => {
          // A pool opens its connections on first use: it never had one.
          expect(pool.totalCount).toBe(0);
          expect(await storedNextFree(key)).toBeUndefined();
        },
      };
    },
    unreachable: async (settings) => limiterOn(connect({}, urlThrough(await closedPort())), settings),
    unreachableMessage:
      /PostgreSQL did not answer within 300 ms \(last error: .*ECONNREFUSED.*\).*request was not sent/,
    closed: async (settings) => {
      const pool = connect();
      await pool.end();
      return limiterOn(pool, settings);
    },
    closedMessage: /PostgreSQL pool is closed/,
    serverPort: () => Number(new URL(database.url).port || 5432),
    through: (port, settings) => ({
      limiter: limiterOn(connect({}, urlThrough(port)), settings),
      connected: () => undefined,
    }),
    childProcess: async (workDir, key, maxRps, count) => {
      await writeTranspiledCopies(workDir, [
        "queue/backend/postgres-rate-limiter.ts",
        ...LIMITER_RUNTIME_SOURCES,
      ]);
      const pgModule = pathToFileURL(createRequire(import.meta.url).resolve("pg")).href;
      const script = await writeChildScript(workDir, {
        imports: `import pg from ${JSON.stringify(pgModule)};
import { createPostgresRateLimiter } from "./queue/backend/postgres-rate-limiter.js";`,
        // Connections open and the code warm before "go", as in the parent: the first grants are not
        // held up by a cold start (the gaps measured are the schedule's, not the start-up's).
        setUp: `const pool = new pg.Pool({ connectionString: url });
const warmUp = createPostgresRateLimiter({ pool, schema: ${JSON.stringify(SCHEMA)}, key: key + ":warm-up", maxRps: 1000 });
await Promise.all(Array.from({ length: Number(count) }, () => warmUp.acquire()));
const limiter = createPostgresRateLimiter({ pool, schema: ${JSON.stringify(SCHEMA)}, key, maxRps: Number(maxRps) });`,
        tearDown: "await pool.end();",
      });
      return [script, database.url, key, String(maxRps), String(count)];
    },
  };
}

/**
 * A script that uses a plain-JS copy of a limiter from another process: it connects, prints "ready",
 * waits for "go" on stdin, acquires `count` slots at once and prints their wall-clock grant times as
 * JSON. Its arguments: the store's URL, the key, maxRps, count.
 */
async function writeChildScript(
  workDir: string,
  parts: { imports: string; setUp: string; tearDown: string },
): Promise<string> {
  const script = join(workDir, "child.js");
  await writeFile(
    script,
    `
import { createInterface } from "node:readline";
${parts.imports}
const [url, key, maxRps, count] = process.argv.slice(2);
${parts.setUp}
console.log("ready");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === "go") break;
const granted = [];
await Promise.all(Array.from({ length: Number(count) }, () =>
  limiter.acquire().then(() => granted.push(performance.timeOrigin + performance.now()))));
console.log(JSON.stringify(granted));
${parts.tearDown}
process.exit(0);
`,
  );
  return script;
}
