// The PostgreSQL queue backend's schema (QUEUE_SCHEMA): BullMQ's own migrations, then the table of
// the shared rate cap. Applied by `plugchat-sync migrate`: offline, idempotent, and safe when several
// deploys run at once (BullMQ serialises its migrations with an advisory lock; the table is created
// IF NOT EXISTS inside the same lock).
import { runMigrations } from "bullmq";
import { connect } from "../../db/migrations/database.js";
import { createRateLimitTable } from "../postgres-rate-limiter.js";

export interface QueueSchemaResult {
  schema: string;
  /** BullMQ's schema version after the call. */
  version: number;
}

export async function migrateQueueSchema(databaseUrl: string, schema: string): Promise<QueueSchemaResult> {
  const client = await connect(databaseUrl);
  try {
    const version = await runMigrations(client, schema);
    await client.query("BEGIN");
    try {
      // The same lock key BullMQ takes (per schema), so two deploys creating the table do not race.
      await client.query("SELECT pg_advisory_xact_lock(1112886348, hashtext($1))", [schema]);
      await createRateLimitTable(client, schema);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
    return { schema, version };
  } finally {
    await client.end().catch(() => undefined);
  }
}
