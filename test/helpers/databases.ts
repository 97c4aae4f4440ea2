// Throwaway PostgreSQL databases for tests, named plugchat_sync_test_<random>: never plugchat_sync.
// The server is the one of TEST_DATABASE_ADMIN_URL (default: local postgres, trust auth).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { defaultMigrationsDir, migrate } from "../../src/db/migrations/index.js";

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const PREFIX = "plugchat_sync_test_";

export interface TestDatabase {
  /** Connection URL of the database (same server and credentials as the admin URL). */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open on it; fine if it does not exist. */
  drop(): Promise<void>;
}

/**
 * A name and URL for a database that does not exist yet (to test code that creates it).
 * Call drop() afterwards all the same.
 */
export function reserveTestDatabase(): TestDatabase {
  const name = `${PREFIX}${randomBytes(6).toString("hex")}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** A new, empty database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const database = reserveTestDatabase();
  await adminQuery(`CREATE DATABASE "${database.name}"`);
  return database;
}

/** A new database with the project's migrations applied (prisma/migrations). */
export async function createMigratedTestDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  try {
    await migrate({
      databaseUrl: database.url,
      migrationsDir: defaultMigrationsDir(),
      createDatabase: false,
    });
  } catch (err) {
    await database.drop();
    throw err;
  }
  return database;
}

/** Runs one statement on the admin database, on a connection of its own. */
async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
