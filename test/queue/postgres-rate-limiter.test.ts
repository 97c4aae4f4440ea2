// The PostgreSQL store of the global rate limiter: what is particular to it (its table, its
// connections, its errors). The contract both stores keep is in rate-limiter.test.ts.
import { randomBytes } from "node:crypto";
import { connect as connectTcp, createServer, type Socket } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { RATE_LIMIT_TABLE } from "../../src/db/sql/queue.js";
import { createPostgresRateLimiter } from "../../src/queue/backend/postgres-rate-limiter.js";
import { createRateLimitTable, rateLimitTableExists } from "../../src/queue/backend/queue-schema.js";
import { RateLimiterUnavailableError } from "../../src/queue/backend/rate-limit-deadline.js";
import { closedPort } from "../helpers/free-port.js";
import { SCHEMA, usePostgresStore } from "./rate-limiter-stores.js";

// "Without hanging": an acquire that gives up at its deadline does so within this much more.
const GIVE_UP_SLACK_MS = 1_000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
}

describe("createPostgresRateLimiter", () => {
  const store = usePostgresStore();

  /** A limiter at 10 per second that waits up to a minute for PostgreSQL. */
  function waitingLimiter(pool: pg.Pool, schema = SCHEMA) {
    return createPostgresRateLimiter({ pool, schema, key: store.uniqueKey(), maxRps: 10, timeoutMs: 60_000 });
  }

  it("keeps the end of the last reserved slot under the key, in microseconds of the database clock", async () => {
    const key = store.uniqueKey();
    const pool = store.connect();
    const limiter = createPostgresRateLimiter({ pool, schema: SCHEMA, key, maxRps: 2 });
    await limiter.acquire();
    const stored = await store.storedNextFree(key);
    const { rows } = await pool.query<{ now_us: string }>(
      "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us",
    );
    const now = BigInt(rows[0]?.now_us ?? 0);
    // The slot after this one starts 500 ms after the reservation, which came just before now.
    expect(stored).toBeGreaterThan(now);
    expect(stored).toBeLessThanOrEqual(now + 500_000n);
  });

  it("stops waiting for PostgreSQL with the signal's reason when aborted", async () => {
    const pool = store.connect({}, store.urlThrough(await closedPort()));
    const limiter = waitingLimiter(pool);
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const reason = new Error("run cancelled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(waiting).rejects.toBe(reason);
  });

  it("gives up at the deadline on a server that never answers, and reserves no slot when it answers late", async () => {
    // A server that accepts connections and holds them; "later" it starts passing them on to PostgreSQL.
    const held: Socket[] = [];
    let passOn = (_socket: Socket) => {
      held.push(_socket);
    };
    const upstream = new URL(store.database.url);
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
      const key = store.uniqueKey();
      const pool = store.connect({}, store.urlThrough((server.address() as { port: number }).port));
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
      expect(await store.storedNextFree(key)).toBeUndefined();
    } finally {
      for (const socket of [...held, ...sockets]) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("gives up on a statement that hangs at the deadline, and never reuses its connection", async () => {
    const key = store.uniqueKey();
    const pool = store.connect({ max: 1 });
    const limiter = createPostgresRateLimiter({ pool, schema: SCHEMA, key, maxRps: 1000, timeoutMs: 300 });
    await limiter.acquire();
    // Another session holds the key's row: the reservation waits for its lock.
    const locker = new pg.Client({ connectionString: store.database.url });
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

  it("stops retrying at once when the pool is closed during an outage", async () => {
    const pool = store.connect({}, store.urlThrough(await closedPort()));
    const limiter = waitingLimiter(pool);
    const acquired = limiter.acquire();
    acquired.catch(() => undefined); // asserted below
    await new Promise((resolve) => setTimeout(resolve, 150));
    await pool.end();
    await expect(acquired).rejects.toThrow(/PostgreSQL pool is closed/);
  });

  it.each(["public", "no_such_schema"])(
    "says to run migrate when the table is missing (schema %s)",
    async (schema) => {
      const limiter = waitingLimiter(store.connect(), schema);
      const error = await rejection(limiter.acquire());
      expect(error).toBeInstanceOf(RateLimiterUnavailableError);
      expect((error as Error).message).toContain(
        `the table "${schema}".${RATE_LIMIT_TABLE} does not exist: run \`plugchat-sync migrate\``,
      );
    },
  );

  it("reports another PostgreSQL error as the limiter being unavailable, at once", async () => {
    const pool = store.connect();
    await pool.query(
      `CREATE SCHEMA wrong_shape; CREATE TABLE wrong_shape.${RATE_LIMIT_TABLE} (key text PRIMARY KEY, next_free_us text)`,
    );
    const limiter = waitingLimiter(pool, "wrong_shape");
    const error = await rejection(limiter.acquire());
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(/PostgreSQL refused the reservation/);
  });

  it.each(['bull"mq', "Bullmq", "bullmq; DROP TABLE x", ""])("refuses the schema name %j", async (schema) => {
    expect(() => createPostgresRateLimiter({ pool: store.connect(), schema, key: "k", maxRps: 1 })).toThrow(
      /schema .* is not valid/,
    );
    await expect(createRateLimitTable(store.connect(), schema)).rejects.toThrow(/schema .* is not valid/);
  });
});

describe("createRateLimitTable", () => {
  const store = usePostgresStore();

  it("creates the table that rateLimitTableExists looks for", async () => {
    const schema = `rate_limit_${randomBytes(4).toString("hex")}`;
    const pool = store.connect();
    expect(await rateLimitTableExists(pool, schema)).toBe(false);
    await createRateLimitTable(pool, schema);
    expect(await rateLimitTableExists(pool, schema)).toBe(true);
    expect(await rateLimitTableExists(pool, "public")).toBe(false);
  });

  it("can run again, and from several deploys at once", async () => {
    const schema = `rate_limit_${randomBytes(4).toString("hex")}`;
    const pools = [store.connect(), store.connect(), store.connect(), store.connect()];
    await Promise.all(pools.map((pool) => createRateLimitTable(pool, schema)));
    await createRateLimitTable(pools[0] as pg.Pool, schema);
    const limiter = createPostgresRateLimiter({
      pool: store.connect(),
      schema,
      key: store.uniqueKey(),
      maxRps: 10,
    });
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
