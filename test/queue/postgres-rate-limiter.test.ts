import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createPostgresRateLimiter,
  createRateLimitTable,
  RATE_LIMIT_TABLE,
  rateLimitTableExists,
} from "../../src/queue/backend/postgres-rate-limiter.js";
import { RateLimiterUnavailableError } from "../../src/queue/backend/rate-limit-deadline.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { closedPort } from "../helpers/free-port.js";
import {
  collect,
  gaps,
  LIMITER_RUNTIME_SOURCES,
  waitForLine,
  wallNow,
  writeTranspiledCopies,
} from "../helpers/rate-limiter-processes.js";
import { startTcpProxy } from "./helpers.js";

const SCHEMA = "bullmq";
// Node timers may fire up to about a millisecond early.
const TIMER_SLACK_MS = 2;
// Between two consecutive grants, more: a grant whose timer fires late (a busy machine, the whole suite
// running) comes closer to the next one, and answers from PostgreSQL arrive a little unevenly. Grants of
// limiters that did not share the schedule would come about 0 ms apart.
const GAP_SLACK_MS = 30;
// "Without hanging": an acquire that gives up at its deadline does so within this much more.
const GIVE_UP_SLACK_MS = 1_000;

let database: TestDatabase;
const pools: pg.Pool[] = [];

function connect(config: pg.PoolConfig = {}, url = database.url): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, ...config });
  pool.on("error", () => undefined); // connections cut on purpose in some tests
  pools.push(pool);
  return pool;
}

/** The database's URL, reached through another port on 127.0.0.1 (a proxy in front of it). */
function urlThrough(port: number): string {
  const url = new URL(database.url);
  url.host = `127.0.0.1:${port}`;
  return url.toString();
}

/**
 * A pool with `connections` connections open, as a running worker's would be: twelve connections opened
 * at once (a backend forked for each) would hold up the grants' timers, not the schedule.
 */
async function warmPool(connections: number): Promise<pg.Pool> {
  const pool = connect();
  await Promise.all(Array.from({ length: connections }, () => pool.query("SELECT 1")));
  return pool;
}

function uniqueKey(): string {
  return `plugchat-sync-test:rate-limit:${randomBytes(6).toString("hex")}`;
}

/** The stored end of the key's last reserved slot, or undefined when nothing was ever reserved. */
async function storedNextFree(key: string): Promise<bigint | undefined> {
  const { rows } = await connect().query<{ next_free_us: string }>(
    `SELECT next_free_us FROM "${SCHEMA}".${RATE_LIMIT_TABLE} WHERE key = $1`,
    [key],
  );
  return rows[0] === undefined ? undefined : BigInt(rows[0].next_free_us);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
}

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

describe("createPostgresRateLimiter", () => {
  it("spaces the grants of two pools sharing a key 1/maxRps apart", async () => {
    const key = uniqueKey();
    const [firstPool, secondPool] = await Promise.all([warmPool(6), warmPool(6)]);
    const first = createPostgresRateLimiter({ pool: firstPool, schema: SCHEMA, key, maxRps: 20 });
    const second = createPostgresRateLimiter({ pool: secondPool, schema: SCHEMA, key, maxRps: 20 });
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
    // Lower bounds only. Every pair of consecutive grants, whichever pool got them, is 50 ms apart...
    for (const gap of gaps(granted)) expect(gap).toBeGreaterThanOrEqual(50 - GAP_SLACK_MS);
    // ...and the k-th grant comes no sooner than k intervals after the first request.
    granted.forEach((at, k) => {
      expect(at).toBeGreaterThanOrEqual(k * 50 - TIMER_SLACK_MS);
    });
  });

  it("keeps the schedules of separate keys independent", async () => {
    const pool = connect();
    const mine = createPostgresRateLimiter({ pool, schema: SCHEMA, key: uniqueKey(), maxRps: 1 });
    const theirs = createPostgresRateLimiter({ pool, schema: SCHEMA, key: uniqueKey(), maxRps: 1 });
    await mine.acquire();
    const startedAt = performance.now();
    // Sharing mine's schedule, this would wait about a second for the next slot.
    await theirs.acquire();
    expect(performance.now() - startedAt).toBeLessThan(500);
  });

  it("spaces the grants of two Node processes sharing a key", async () => {
    const key = uniqueKey();
    const workDir = await mkdtemp(join(tmpdir(), "plugchat-sync-limiter-"));
    try {
      const childScript = await buildChildScript(workDir);
      const child = spawn(process.execPath, [childScript, database.url, SCHEMA, key, "20", "5"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      const output = collect(child.stdout);
      await waitForLine(output, "ready");

      const limiter = createPostgresRateLimiter({ pool: await warmPool(5), schema: SCHEMA, key, maxRps: 20 });
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

  it("keeps the end of the last reserved slot under the key, in microseconds of the database clock", async () => {
    const key = uniqueKey();
    const pool = connect();
    const limiter = createPostgresRateLimiter({ pool, schema: SCHEMA, key, maxRps: 2 });
    await limiter.acquire();
    const stored = await storedNextFree(key);
    const { rows } = await pool.query<{ now_us: string }>(
      "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us",
    );
    const now = BigInt(rows[0]?.now_us ?? 0);
    // The slot after this one starts 500 ms after the reservation, which came just before now.
    expect(stored).toBeGreaterThan(now);
    expect(stored).toBeLessThanOrEqual(now + 500_000n);
  });

  it("makes no query at all when maxRps is 0", async () => {
    const pool = connect();
    const key = uniqueKey();
    const limiter = createPostgresRateLimiter({ pool, schema: SCHEMA, key, maxRps: 0 });
    await Promise.all(Array.from({ length: 100 }, () => limiter.acquire()));
    // A pool opens its connections on first use: it never had one.
    expect(pool.totalCount).toBe(0);
    expect(await storedNextFree(key)).toBeUndefined();
  });

  it("stops waiting for its slot with the signal's reason when aborted", async () => {
    const limiter = createPostgresRateLimiter({
      pool: connect(),
      schema: SCHEMA,
      key: uniqueKey(),
      maxRps: 1,
    });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const reason = new Error("run cancelled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(waiting).rejects.toBe(reason);
  });

  it("stops waiting for PostgreSQL with the signal's reason when aborted", async () => {
    const pool = connect({}, urlThrough(await closedPort()));
    const limiter = createPostgresRateLimiter({
      pool,
      schema: SCHEMA,
      key: uniqueKey(),
      maxRps: 10,
      timeoutMs: 60_000,
    });
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const reason = new Error("run cancelled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(waiting).rejects.toBe(reason);
  });

  it("fails the acquire with a clear error, without hanging, when PostgreSQL is unreachable", async () => {
    const pool = connect({}, urlThrough(await closedPort()));
    const limiter = createPostgresRateLimiter({
      pool,
      schema: SCHEMA,
      key: uniqueKey(),
      maxRps: 10,
      timeoutMs: 300,
    });
    const startedAt = performance.now();
    const error = await rejection(limiter.acquire());
    const elapsed = performance.now() - startedAt;
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(
      /PostgreSQL did not answer within 300 ms \(last error: .*ECONNREFUSED.*\).*request was not sent/,
    );
    expect(elapsed).toBeGreaterThanOrEqual(300 - TIMER_SLACK_MS);
    expect(elapsed).toBeLessThan(300 + GIVE_UP_SLACK_MS);
  });

  it("gives up at the deadline on a server that never answers, and reserves no slot when it answers late", async () => {
    // A server that accepts connections and holds them; "later" it starts passing them on to PostgreSQL.
    const held: Socket[] = [];
    let passOn = (_socket: Socket) => {
      held.push(_socket);
    };
    const upstream = new URL(database.url);
    const server = createServer((socket) => {
      socket.on("error", () => undefined);
      passOn(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const sockets: Socket[] = [];
    const pipeToPostgres = (socket: Socket) => {
      const target = connectTcp(Number(upstream.port || 5432), upstream.hostname);
      target.on("error", () => undefined);
      sockets.push(socket, target);
      socket.pipe(target).pipe(socket);
    };
    try {
      const key = uniqueKey();
      const pool = connect({}, urlThrough((server.address() as { port: number }).port));
      const limiter = createPostgresRateLimiter({ pool, schema: SCHEMA, key, maxRps: 10, timeoutMs: 300 });
      const startedAt = performance.now();
      const error = await rejection(limiter.acquire());
      const elapsed = performance.now() - startedAt;
      expect(error).toBeInstanceOf(RateLimiterUnavailableError);
      expect((error as Error).message).toMatch(/PostgreSQL did not answer within 300 ms \(no answer\)/);
      expect(elapsed).toBeLessThan(300 + GIVE_UP_SLACK_MS);

      // The server comes back: the connection the pool was waiting for opens, and is given back unused.
      passOn = pipeToPostgres;
      for (const socket of held.splice(0)) pipeToPostgres(socket);
      await waitUntil(() => pool.idleCount === 1);
      expect(await storedNextFree(key)).toBeUndefined();
    } finally {
      for (const socket of [...held, ...sockets]) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("gives up on a statement that hangs at the deadline, and never reuses its connection", async () => {
    const key = uniqueKey();
    const pool = connect({ max: 1 });
    const limiter = createPostgresRateLimiter({ pool, schema: SCHEMA, key, maxRps: 1000, timeoutMs: 300 });
    await limiter.acquire();
    // Another session holds the key's row: the reservation waits for its lock.
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM "${SCHEMA}".${RATE_LIMIT_TABLE} WHERE key = $1 FOR UPDATE`, [key]);
      const startedAt = performance.now();
      const error = await rejection(limiter.acquire());
      expect(error).toBeInstanceOf(RateLimiterUnavailableError);
      expect(performance.now() - startedAt).toBeLessThan(300 + GIVE_UP_SLACK_MS);
      // The connection still has the statement in flight: it is closed, not handed back to the pool.
      await waitUntil(() => pool.totalCount === 0);
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
    }
    // And the pool goes on with a new connection.
    await expect(limiter.acquire()).resolves.toBeUndefined();
  });

  it("waits for PostgreSQL coming back within the timeout", async () => {
    const address = new URL(database.url);
    const proxy = await startTcpProxy(Number(address.port || 5432), address.hostname);
    try {
      proxy.cut();
      const pool = connect({}, urlThrough(proxy.port));
      const limiter = createPostgresRateLimiter({
        pool,
        schema: SCHEMA,
        key: uniqueKey(),
        maxRps: 10,
        timeoutMs: 10_000,
      });
      const acquired = limiter.acquire();
      acquired.catch(() => undefined); // asserted below; a failure before then is no unhandled rejection
      // PostgreSQL "comes back" 300 ms later, after refused attempts.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(proxy.attempts()).toBeGreaterThan(1);
      proxy.restore();
      await expect(acquired).resolves.toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it("fails at once when the pool was closed", async () => {
    const pool = connect();
    await pool.end();
    const limiter = createPostgresRateLimiter({
      pool,
      schema: SCHEMA,
      key: uniqueKey(),
      maxRps: 10,
      timeoutMs: 60_000,
    });
    await expect(limiter.acquire()).rejects.toThrow(/PostgreSQL pool is closed/);
  });

  it("stops retrying at once when the pool is closed during an outage", async () => {
    const pool = connect({}, urlThrough(await closedPort()));
    const limiter = createPostgresRateLimiter({
      pool,
      schema: SCHEMA,
      key: uniqueKey(),
      maxRps: 10,
      timeoutMs: 60_000,
    });
    const acquired = limiter.acquire();
    acquired.catch(() => undefined); // asserted below
    await new Promise((resolve) => setTimeout(resolve, 150));
    await pool.end();
    await expect(acquired).rejects.toThrow(/PostgreSQL pool is closed/);
  });

  it.each(["public", "no_such_schema"])(
    "says to run migrate when the table is missing (schema %s)",
    async (schema) => {
      const limiter = createPostgresRateLimiter({
        pool: connect(),
        schema,
        key: uniqueKey(),
        maxRps: 10,
        timeoutMs: 60_000,
      });
      const error = await rejection(limiter.acquire());
      expect(error).toBeInstanceOf(RateLimiterUnavailableError);
      expect((error as Error).message).toContain(
        `the table "${schema}".${RATE_LIMIT_TABLE} does not exist: run \`plugchat-sync migrate\``,
      );
    },
  );

  it("reports another PostgreSQL error as the limiter being unavailable, at once", async () => {
    const pool = connect();
    await pool.query(
      `CREATE SCHEMA wrong_shape; CREATE TABLE wrong_shape.${RATE_LIMIT_TABLE} (key text PRIMARY KEY, next_free_us text)`,
    );
    const limiter = createPostgresRateLimiter({
      pool,
      schema: "wrong_shape",
      key: uniqueKey(),
      maxRps: 10,
      timeoutMs: 60_000,
    });
    const error = await rejection(limiter.acquire());
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(/PostgreSQL refused the reservation/);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses maxRps %s", (maxRps) => {
    expect(() => createPostgresRateLimiter({ pool: connect(), schema: SCHEMA, key: "k", maxRps })).toThrow(
      RangeError,
    );
  });

  it.each(['bull"mq', "Bullmq", "bullmq; DROP TABLE x", ""])("refuses the schema name %j", async (schema) => {
    expect(() => createPostgresRateLimiter({ pool: connect(), schema, key: "k", maxRps: 1 })).toThrow(
      /schema .* is not valid/,
    );
    await expect(createRateLimitTable(connect(), schema)).rejects.toThrow(/schema .* is not valid/);
  });
});

describe("createRateLimitTable", () => {
  it("creates the table that rateLimitTableExists looks for", async () => {
    const schema = `rate_limit_${randomBytes(4).toString("hex")}`;
    const pool = connect();
    expect(await rateLimitTableExists(pool, schema)).toBe(false);
    await createRateLimitTable(pool, schema);
    expect(await rateLimitTableExists(pool, schema)).toBe(true);
    expect(await rateLimitTableExists(pool, "public")).toBe(false);
  });

  it("can run again, and from several deploys at once", async () => {
    const schema = `rate_limit_${randomBytes(4).toString("hex")}`;
    const pools = [connect(), connect(), connect(), connect()];
    await Promise.all(pools.map((pool) => createRateLimitTable(pool, schema)));
    await createRateLimitTable(pools[0] as pg.Pool, schema);
    const limiter = createPostgresRateLimiter({ pool: connect(), schema, key: uniqueKey(), maxRps: 10 });
    await expect(limiter.acquire()).resolves.toBeUndefined();
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`the condition never held within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Writes a plain-JS copy of the limiter (transpiled with TypeScript, as the build would) and a script
 * that uses it from another process: it connects, prints "ready", waits for "go" on stdin, acquires N
 * slots at once and prints their wall-clock grant times as JSON.
 */
async function buildChildScript(workDir: string): Promise<string> {
  await writeTranspiledCopies(workDir, [
    "queue/backend/postgres-rate-limiter.ts",
    ...LIMITER_RUNTIME_SOURCES,
  ]);
  const pgModule = pathToFileURL(createRequire(import.meta.url).resolve("pg")).href;
  const script = join(workDir, "child.js");
  await writeFile(
    script,
    `
import { createInterface } from "node:readline";
import pg from ${JSON.stringify(pgModule)};
import { createPostgresRateLimiter } from "./queue/backend/postgres-rate-limiter.js";
const [url, schema, key, maxRps, count] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url });
// Connections open and the code warm before "go", as in the parent: the first grants are not held up
// by a cold start (the gaps measured are the schedule's, not the start-up's).
const warmUp = createPostgresRateLimiter({ pool, schema, key: key + ":warm-up", maxRps: 1000 });
await Promise.all(Array.from({ length: Number(count) }, () => warmUp.acquire()));
const limiter = createPostgresRateLimiter({ pool, schema, key, maxRps: Number(maxRps) });
console.log("ready");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === "go") break;
const granted = [];
await Promise.all(Array.from({ length: Number(count) }, () =>
  limiter.acquire().then(() => granted.push(performance.timeOrigin + performance.now()))));
console.log(JSON.stringify(granted));
await pool.end();
process.exit(0);
`,
  );
  return script;
}
