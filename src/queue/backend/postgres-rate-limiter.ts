// The request rate cap shared by every worker process, with PostgreSQL as the only shared store: one
// schedule of evenly spaced slots, like the Redis limiter's, held in one row per deployment key.
//
// Design:
// - One statement reserves a slot (reserveRateLimitSlot in db/sql/queue.ts): an upsert on the key's row
//   that moves the end of the schedule by one interval and returns how long the caller must wait for
//   the start of the slot it got. The row lock serialises concurrent reservations (any number of pools
//   and processes), so slots are never handed out twice; the times are the database's, so the clocks
//   of the processes do not matter. The wait is then spent locally (abortable); no connection is held
//   while waiting.
// - The table is created by `plugchat-sync migrate` (queue-schema.ts), never at run time; an absent
//   row means "free now".
// - PostgreSQL unreachable: the acquire retries getting a connection until its deadline (timeoutMs),
//   then rejects with a RateLimiterUnavailableError; the request is never sent without a slot. The
//   statement carries a client-side query_timeout of what is left of the deadline, and a connection
//   that failed or timed out is destroyed rather than handed back to the pool. A connection that
//   arrives after the acquire gave up is handed back unused: no slot is reserved for a request that
//   was given up (it would leave a hole in the schedule). A statement already sent when the acquire
//   gives up may still reserve its slot: that slot goes unused, which only lowers the rate.
//
// Only `import type` here, whole statements, but for sleep.js, rate-limit-deadline.js and
// db/sql/queue.js: a test transpiles these on their own to run them in a second Node process.
import type { Pool, QueryConfig, QueryResult } from "pg";
import { rateLimitTable, reserveRateLimitSlot, type Statement } from "../../db/sql/queue.js";
import { sleep } from "../../lib/sleep.js";
import type { RateLimiter } from "../../plugchat/rate-limiter.js";
import {
  checkLimiterSettings,
  RateLimiterUnavailableError,
  slotIntervalMicros,
  UNLIMITED,
  withinDeadline,
} from "./rate-limit-deadline.js";

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

const DEFAULT_TIMEOUT_MS = 5000;

// Between two attempts to get a connection within one acquire's deadline (PostgreSQL restarting).
const RETRY_EVERY_MS = 100;

/**
 * A `RateLimiter` holding `maxRps` across every process that uses the same key in the same database:
 * slots 1/maxRps apart, each reserved by one atomic statement, then waited for locally (abortable).
 * Evenly spaced like the in-process limiter: no burst at start-up.
 */
export function createPostgresRateLimiter(options: PostgresRateLimiterOptions): RateLimiter {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  checkLimiterSettings({ ...options, timeoutMs }, "timeoutMs");
  const table = rateLimitTable(options.schema);
  if (options.maxRps === 0) return UNLIMITED;
  const reservation = reserveRateLimitSlot(options.schema, options.key, slotIntervalMicros(options.maxRps));
  return new PostgresRateLimiter(options.pool, reservation, table, timeoutMs);
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

/** Why a reservation failed for good, as the limiter's error. */
function refusal(error: unknown, table: string): RateLimiterUnavailableError {
  if (error instanceof RateLimiterUnavailableError) return error;
  const code = isServerError(error) ? error.code : undefined;
  if (code === "42P01" || code === "3F000") {
    return new RateLimiterUnavailableError(
      `the table ${table} does not exist: run \`plugchat-sync migrate\``,
      {
        cause: error,
      },
    );
  }
  return new RateLimiterUnavailableError(`PostgreSQL refused the reservation (${(error as Error).message})`, {
    cause: error,
  });
}

const closedPool = () => new RateLimiterUnavailableError("the PostgreSQL pool is closed");

/** What one acquire knows while it reserves: whether it gave up, and the last error on the way. */
interface Attempt {
  settled: boolean;
  deadline: number;
  lastError?: unknown;
}

class PostgresRateLimiter implements RateLimiter {
  constructor(
    private readonly pool: Pool,
    private readonly reservation: Statement,
    private readonly table: string,
    private readonly timeoutMs: number,
  ) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.pool.ended || this.pool.ending) throw closedPool();
    const attempt: Attempt = { settled: false, deadline: performance.now() + this.timeoutMs };
    let waitMicros: number;
    try {
      waitMicros = await withinDeadline(this.reserve(attempt), this.timeoutMs, signal, () =>
        this.timeoutError(attempt),
      );
    } finally {
      attempt.settled = true;
    }
    if (waitMicros > 0) await sleep(waitMicros / 1000, signal);
  }

  /** Reserves, retrying transient failures until the deadline; 0 when the acquire gave up meanwhile. */
  private async reserve(attempt: Attempt): Promise<number> {
    for (;;) {
      try {
        return await this.reserveOnce(attempt);
      } catch (error) {
        if (attempt.settled) return 0;
        if (this.pool.ended || this.pool.ending) throw closedPool();
        if (error instanceof RateLimiterUnavailableError || !isTransient(error)) {
          throw refusal(error, this.table);
        }
        attempt.lastError = error;
        const left = attempt.deadline - performance.now();
        if (left <= 0) throw this.timeoutError(attempt);
        await sleep(Math.min(RETRY_EVERY_MS, left));
        if (attempt.settled) return 0;
      }
    }
  }

  /** The wait for the slot it reserved, in microseconds; 0 (and no slot) when the acquire gave up meanwhile. */
  private async reserveOnce(attempt: Attempt): Promise<number> {
    const client = await this.pool.connect();
    if (attempt.settled) {
      client.release();
      return 0;
    }
    let broken: Error | undefined;
    try {
      const query = {
        ...this.reservation,
        // pg's own timeout for this statement: a hung connection cannot hold the acquire past its deadline.
        query_timeout: Math.max(1, Math.ceil(attempt.deadline - performance.now())),
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

  private timeoutError(attempt: Attempt): RateLimiterUnavailableError {
    const last =
      attempt.lastError instanceof Error ? `last error: ${attempt.lastError.message}` : "no answer";
    return new RateLimiterUnavailableError(
      `PostgreSQL did not answer within ${this.timeoutMs} ms (${last})`,
      {
        cause: attempt.lastError,
      },
    );
  }
}
