// The request rate cap shared by every worker process, with PostgreSQL as the only shared store: one
// schedule of evenly spaced slots, like the Redis limiter's, held in one row per deployment key.
//
// Design:
// - One statement reserves a slot: an upsert on the key's row that moves `next_free_us` to
//   GREATEST(next_free_us, now) + interval and returns how long the caller must wait for the start of
//   the slot it got. The row lock serialises concurrent reservations (any number of pools and
//   processes), so slots are never handed out twice; the times are the database's (clock_timestamp(),
//   in microseconds), so the clocks of the processes do not matter. The wait is then spent locally
//   (abortable); no connection is held while waiting.
// - The interval is rounded up to a whole microsecond: the cap may be undershot, never exceeded.
// - The table is UNLOGGED: a reservation is then a commit that waits for no WAL flush, and what a crash
//   loses (the end of the last slot, a few milliseconds ahead) is worth nothing: an absent row means
//   "free now". Created by `plugchat-sync migrate` (createRateLimitTable), never at run time.
// - PostgreSQL unreachable: the acquire retries getting a connection until its deadline (timeoutMs),
//   then rejects with a RateLimiterUnavailableError; the request is never sent without a slot. The
//   statement carries a client-side query_timeout of what is left of the deadline, and a connection
//   that failed or timed out is destroyed rather than handed back to the pool. A connection that
//   arrives after the acquire gave up is handed back unused: no slot is reserved for a request that
//   was given up (it would leave a hole in the schedule). A statement already sent when the acquire
//   gives up may still reserve its slot: that slot goes unused, which only lowers the rate.
//
// Only `import type` here, whole statements: at run time this module needs nothing but sleep.js and
// rate-limit-deadline.js (a test transpiles them on their own to run them in a second Node process).
import type { Pool, PoolClient, QueryConfig, QueryResult } from "pg";
import { sleep } from "../../lib/sleep.js";
import type { RateLimiter } from "../../plugchat/rate-limiter.js";
import { RateLimiterUnavailableError, withinDeadline } from "./rate-limit-deadline.js";

export interface PostgresRateLimiterOptions {
  /**
   * A pg.Pool (from the `pg` package) of the sync database; the limiter never closes it. Its owner
   * listens to its "error" event (an idle connection that breaks would otherwise end the process).
   */
  pool: Pool;
  /** The PostgreSQL schema holding the slot table (QUEUE_SCHEMA, default "bullmq"); a validated identifier. */
  schema: string;
  /** The deployment's key, e.g. `${QUEUE_PREFIX}:rate-limit`. */
  key: string;
  /** Requests per second for all processes together; 0 = no cap (and no query at all). */
  maxRps: number;
  /**
   * Longest wait for PostgreSQL (a connection, then the answer), per acquire. Past it the acquire
   * rejects with a `RateLimiterUnavailableError` and the request is not sent. Default 5000 ms.
   */
  timeoutMs?: number;
}

export const DEFAULT_POSTGRES_TIMEOUT_MS = 5000;

/** The table of the slots, in the queue schema: one row per deployment key. */
export const RATE_LIMIT_TABLE = "plugchat_sync_rate_limit";

// Between two attempts to get a connection within one acquire's deadline (PostgreSQL restarting).
const RETRY_EVERY_MS = 100;

// Like QUEUE_SCHEMA's own check: whatever passes can be double-quoted as it is.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function tableOf(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `the rate limit schema ${JSON.stringify(schema)} is not valid: 1 to 63 lower-case letters, digits or "_", not starting with a digit`,
    );
  }
  return `"${schema}".${RATE_LIMIT_TABLE}`;
}

/**
 * Idempotent DDL, run by `plugchat-sync migrate` after BullMQ's own migrations: the slot table.
 * One multi-statement string, so that it runs on one connection in one implicit transaction even when
 * `client` is a pool; the advisory lock keeps two deploys migrating at once from racing on CREATE.
 */
export async function createRateLimitTable(
  client: { query(sql: string): Promise<unknown> },
  schema: string,
): Promise<void> {
  const table = tableOf(schema);
  await client.query(`
SELECT pg_advisory_xact_lock(hashtext('plugchat-sync:${RATE_LIMIT_TABLE}'));
CREATE SCHEMA IF NOT EXISTS "${schema}";
CREATE UNLOGGED TABLE IF NOT EXISTS ${table} (
  key text PRIMARY KEY,
  -- The end of the last reserved slot, in microseconds since the epoch (database clock).
  next_free_us bigint NOT NULL
);`);
}

/**
 * Whether `createRateLimitTable` ran on this database: for a worker to refuse to start, saying to run
 * `plugchat-sync migrate`, rather than fail every batch on its first reservation.
 */
export async function rateLimitTableExists(
  client: { query(sql: string, values: unknown[]): Promise<{ rows: { exists: boolean }[] }> },
  schema: string,
): Promise<boolean> {
  const { rows } = await client.query("SELECT to_regclass($1) IS NOT NULL AS exists", [tableOf(schema)]);
  return rows[0]?.exists === true;
}

// Microseconds since the epoch, from the database clock at the moment it is evaluated (not the
// statement's start: a reservation may wait for the row lock).
const NOW_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/**
 * The reservation: $1 the key, $2 the interval in microseconds. RETURNING sees the updated row, so
 * `next_free_us - $2` is the start of the slot just reserved. Its clock reading is the statement's
 * last, so the wait it returns is measured from a moment before the caller receives it: the caller's
 * grant never comes before its slot starts.
 */
function reserveSlotSql(table: string): string {
  return `INSERT INTO ${table} AS slot (key, next_free_us) VALUES ($1, ${NOW_US} + $2::bigint)
ON CONFLICT (key) DO UPDATE SET next_free_us = GREATEST(slot.next_free_us, ${NOW_US}) + $2::bigint
RETURNING slot.next_free_us - $2::bigint - ${NOW_US} AS wait_us`;
}

/** An error PostgreSQL itself sent (it carries a severity and an SQLSTATE), as opposed to a broken connection. */
function isServerError(error: unknown): error is Error & { code: string } {
  return (
    error instanceof Error && "severity" in error && typeof (error as { code?: unknown }).code === "string"
  );
}

// Server errors that say "not now" rather than "never": a server starting or shutting down, all
// connection slots taken, a connection failure reported by the server.
function isTransient(error: unknown): boolean {
  if (!isServerError(error)) return true;
  return error.code.startsWith("08") || ["57P01", "57P02", "57P03", "53300"].includes(error.code);
}

const closedPool = () => new RateLimiterUnavailableError("the PostgreSQL pool is closed");

const unlimited: RateLimiter = { acquire: async (signal) => signal?.throwIfAborted() };

/** What one acquire knows while it reserves: whether it gave up, and the last error on the way. */
interface Attempt {
  settled: boolean;
  lastError?: unknown;
}

/**
 * A `RateLimiter` holding `maxRps` across every process that uses the same key in the same database:
 * slots 1/maxRps apart, each reserved by one atomic statement, then waited for locally (abortable).
 * Evenly spaced like the in-process limiter: no burst at start-up.
 */
export function createPostgresRateLimiter(options: PostgresRateLimiterOptions): RateLimiter {
  const { pool, key, maxRps } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_POSTGRES_TIMEOUT_MS;
  if (!Number.isFinite(maxRps) || maxRps < 0) throw new RangeError(`maxRps must be 0 or more, got ${maxRps}`);
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be more than 0, got ${timeoutMs}`);
  if (key === "") throw new TypeError("the rate limit key is empty");
  const table = tableOf(options.schema);
  if (maxRps === 0) return unlimited;

  // Rounded up: the cap may be undershot by a microsecond per slot, never exceeded.
  const intervalMicros = String(Math.ceil(1_000_000 / maxRps));
  const sql = reserveSlotSql(table);

  const timeoutError = (attempt: Attempt) => {
    const last =
      attempt.lastError instanceof Error ? `last error: ${attempt.lastError.message}` : "no answer";
    return new RateLimiterUnavailableError(`PostgreSQL did not answer within ${timeoutMs} ms (${last})`, {
      cause: attempt.lastError,
    });
  };

  const unavailable = (error: unknown) => {
    if (error instanceof RateLimiterUnavailableError) return error;
    const code = isServerError(error) ? error.code : undefined;
    if (code === "42P01" || code === "3F000") {
      return new RateLimiterUnavailableError(
        `the table ${table} does not exist: run \`plugchat-sync migrate\``,
        { cause: error },
      );
    }
    return new RateLimiterUnavailableError(
      `PostgreSQL refused the reservation (${(error as Error).message})`,
      { cause: error },
    );
  };

  /** The wait for the slot it reserved, in microseconds; 0 (and no slot) when the acquire gave up meanwhile. */
  async function reserveOnce(attempt: Attempt, deadline: number): Promise<number> {
    const client: PoolClient = await pool.connect();
    if (attempt.settled) {
      client.release();
      return 0;
    }
    let broken: Error | undefined;
    try {
      const query = {
        text: sql,
        values: [key, intervalMicros],
        // pg's own timeout for this statement: a hung connection cannot hold the acquire past its deadline.
        query_timeout: Math.max(1, Math.ceil(deadline - performance.now())),
      };
      const result: QueryResult<{ wait_us: string }> = await client.query(query as QueryConfig);
      const waitMicros = Number(result.rows[0]?.wait_us);
      if (!Number.isFinite(waitMicros)) {
        throw new RateLimiterUnavailableError(`the reservation returned ${JSON.stringify(result.rows)}`);
      }
      return waitMicros;
    } catch (error) {
      // A connection whose statement failed on the way (not by PostgreSQL's own answer) may still have
      // it in flight: it must not go back to the pool.
      if (!isServerError(error)) broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async function reserve(attempt: Attempt, deadline: number): Promise<number> {
    for (;;) {
      try {
        return await reserveOnce(attempt, deadline);
      } catch (error) {
        if (attempt.settled) return 0;
        if (pool.ended || pool.ending) throw closedPool();
        if (error instanceof RateLimiterUnavailableError || !isTransient(error)) throw unavailable(error);
        attempt.lastError = error;
        const left = deadline - performance.now();
        if (left <= 0) throw timeoutError(attempt);
        await sleep(Math.min(RETRY_EVERY_MS, left));
        if (attempt.settled) return 0;
      }
    }
  }

  return {
    async acquire(signal) {
      signal?.throwIfAborted();
      if (pool.ended || pool.ending) throw closedPool();
      const attempt: Attempt = { settled: false };
      const deadline = performance.now() + timeoutMs;
      let waitMicros: number;
      try {
        waitMicros = await withinDeadline(reserve(attempt, deadline), timeoutMs, signal, () =>
          timeoutError(attempt),
        );
      } finally {
        attempt.settled = true;
      }
      if (waitMicros > 0) await sleep(waitMicros / 1000, signal);
    },
  };
}
