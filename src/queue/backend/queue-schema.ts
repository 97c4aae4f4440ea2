// The PostgreSQL queue backend's schema (QUEUE_SCHEMA): BullMQ's own migrations, then the table of
// the shared rate cap. Applied by `plugchat-sync migrate`: offline, idempotent, and safe when several
// deploys run at once (BullMQ and createRateLimitTable each serialise their DDL with an advisory lock).
import { runMigrations } from "bullmq";
import type { ClientBase, Pool } from "pg";
import { connect } from "../../db/migrations/database.js";
import * as sql from "../../db/sql/queue.js";

export interface QueueSchemaResult {
  schema: string;
  /** BullMQ's schema version after the call. */
  version: number;
}

/** A pg Client, PoolClient or Pool. */
type Queryable = ClientBase | Pool;

export async function migrateQueueSchema(databaseUrl: string, schema: string): Promise<QueueSchemaResult> {
  const client = await connect(databaseUrl);
  try {
    const version = await runMigrations(client, schema);
    await createRateLimitTable(client, schema);
    return { schema, version };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The rate cap's slot table, created when missing (see sql.createRateLimitTable). */
export async function createRateLimitTable(client: Queryable, schema: string): Promise<void> {
  // Its text alone (it has no values): several statements in one string run only through the simple
  // query protocol.
  await client.query(sql.createRateLimitTable(schema).text);
}

/**
 * Whether `createRateLimitTable` ran on this database: for a worker to refuse to start, saying to run
 * `plugchat-sync migrate`, rather than fail every batch on its first reservation.
 */
export async function rateLimitTableExists(client: Queryable, schema: string): Promise<boolean> {
  const { text, values } = sql.rateLimitTableExists(schema);
  const { rows } = await client.query<{ exists: boolean }>(text, values);
  return rows[0]?.exists === true;
}
