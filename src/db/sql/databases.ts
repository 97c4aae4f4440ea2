// Statements on the server rather than in the reporting database: run on a connection to another
// database of the same server (`postgres`).
import type pg from "pg";

/** Drops database `name` if it exists, ending its open connections first. */
export async function dropDatabaseIfExists(client: pg.Client, name: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`);
}
