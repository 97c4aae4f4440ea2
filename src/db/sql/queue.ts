// The PostgreSQL statements the queue area runs itself (BullMQ's PostgreSQL backend runs its own):
// the slot table of the request rate cap shared by every worker, and the readiness check. Each
// operation is one pure function returning its statement: text and values, for `pg`'s `query`.
//
// No imports at all: the rate limiter's tests transpile this module with it to run it in a second process.

export interface Statement {
  text: string;
  values: unknown[];
}

/** The table of the rate cap's slots, in the queue schema (QUEUE_SCHEMA): one row per deployment key. */
export const RATE_LIMIT_TABLE = "plugchat_sync_rate_limit";

// Like QUEUE_SCHEMA's own check: whatever passes can be double-quoted as it is.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The slot table's qualified name; throws a TypeError for a schema name that is not a plain identifier. */
export function rateLimitTable(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `the rate limit schema ${JSON.stringify(schema)} is not valid: 1 to 63 lower-case letters, digits or "_", not starting with a digit`,
    );
  }
  return `"${schema}".${RATE_LIMIT_TABLE}`;
}

/** Whether the database answers at all (readiness). */
export function ping(): Statement {
  return { text: "SELECT 1", values: [] };
}

/**
 * Idempotent DDL, run by `plugchat-sync migrate` after BullMQ's own migrations: the slot table, UNLOGGED
 * (a reservation then waits for no WAL flush; a crash loses the end of the last slot, worth nothing).
 * Several statements with no values, so that they run on one connection in one implicit transaction
 * even on a pool; the advisory lock keeps two deploys migrating at once from racing on CREATE.
 */
export function createRateLimitTable(schema: string): Statement {
  return {
    text: `
SELECT pg_advisory_xact_lock(hashtext('plugchat-sync:${RATE_LIMIT_TABLE}'));
CREATE SCHEMA IF NOT EXISTS "${schema}";
CREATE UNLOGGED TABLE IF NOT EXISTS ${rateLimitTable(schema)} (
  key text PRIMARY KEY,
  -- The end of the last reserved slot, in microseconds since the epoch (database clock).
  next_free_us bigint NOT NULL
);`,
    values: [],
  };
}

/** One row, `exists`: whether createRateLimitTable ran on this database. */
export function rateLimitTableExists(schema: string): Statement {
  return { text: "SELECT to_regclass($1) IS NOT NULL AS exists", values: [rateLimitTable(schema)] };
}

// Microseconds since the epoch, from the database clock at the moment it is evaluated (not the
// statement's start: a reservation may wait for the row lock).
const NOW_US = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/**
 * Reserves the next free slot of `key`, `intervalMicros` long, in one atomic upsert (the row lock
 * serialises concurrent reservations). One row, `wait_us`: how long until the slot starts. RETURNING
 * sees the updated row, so `next_free_us - interval` is the start of the slot just reserved; its
 * clock reading is the statement's last, so the wait is measured from a moment before the caller
 * receives it: the caller's grant never comes before its slot starts.
 */
export function reserveRateLimitSlot(schema: string, key: string, intervalMicros: number): Statement {
  return {
    text: `INSERT INTO ${rateLimitTable(schema)} AS slot (key, next_free_us) VALUES ($1, ${NOW_US} + $2::bigint)
ON CONFLICT (key) DO UPDATE SET next_free_us = GREATEST(slot.next_free_us, ${NOW_US}) + $2::bigint
RETURNING slot.next_free_us - $2::bigint - ${NOW_US} AS wait_us`,
    values: [key, String(intervalMicros)],
  };
}
