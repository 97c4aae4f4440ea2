// The PostgreSQL queue backend's schema (QUEUE_SCHEMA): BullMQ's own migrations, then the table of
// the shared rate cap. Applied by `plugchat-sync migrate`: offline, idempotent, and safe when several
// deploys run at once (BullMQ and createRateLimitTable each serialise their DDL with an advisory lock).
import { runMigrations } from "bullmq";
import { connect } from "../../db/migrations/database.js";
import { createRateLimitTable } from "./postgres-rate-limiter.js";

export interface QueueSchemaResult {
  schema: string;
  /** BullMQ's schema version after the call. */
  version: number;
}

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
