// Throwaway PostgreSQL databases for tests, named plugchat_sync_test_<random>: never plugchat_sync.
// The server is the one of TEST_DATABASE_ADMIN_URL (default: local postgres, trust auth).
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { inject } from "vitest";
import { defaultMigrationsDir, migrate } from "../../src/db/migrations/index.js";

const PREFIX = "plugchat_sync_test_";
/** Postgres refuses to copy a database while any session is connected to it. */
const OBJECT_IN_USE = "55006";

declare module "vitest" {
  export interface ProvidedContext {
    /** The database of this test run that migrated databases are copied from (database-template.ts). */
    migratedTemplate: string | undefined;
  }
}

export interface TestDatabase {
  /** Connection URL of the database (same server and credentials as the admin URL). */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open on it; fine if it does not exist. */
  drop(): Promise<void>;
}

/** Read on each use: the global setup may set it (to an embedded server) after this module loaded. */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

/**
 * A name and URL for a database that does not exist yet (to test code that creates it).
 * Call drop() afterwards all the same.
 */
export function reserveTestDatabase(kind = ""): TestDatabase {
  // Random, so that runs sharing the server (other work trees) never meet.
  const name = `${PREFIX}${kind}${randomBytes(6).toString("hex")}`;
  const url = new URL(adminUrl());
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

/**
 * A new database with the project's migrations applied (prisma/migrations): a copy of the test run's
 * migrated template when there is one, else migrated here from scratch.
 */
export async function createMigratedTestDatabase(): Promise<TestDatabase> {
  const template = inject("migratedTemplate");
  if (template !== undefined) {
    const database = reserveTestDatabase();
    await copyDatabase(template, database.name);
    return database;
  }
  const database = await createTestDatabase();
  try {
    await migrateFromScratch(database.url);
  } catch (err) {
    await database.drop();
    throw err;
  }
  return database;
}

export function migrateFromScratch(databaseUrl: string): Promise<unknown> {
  return migrate({ databaseUrl, migrationsDir: defaultMigrationsDir(), createDatabase: false });
}

/** A new test database migrated into schema `schema` (Prisma's `?schema=`), and the URL naming it. */
export async function createMigratedTestDatabaseInSchema(
  schema: string,
): Promise<{ database: TestDatabase; url: string }> {
  const database = await createTestDatabase();
  const withSchema = new URL(database.url);
  withSchema.searchParams.set("schema", schema);
  const url = withSchema.toString();
  await migrateFromScratch(url);
  return { database, url };
}

/**
 * CREATE DATABASE ... TEMPLATE. Copies made at the same time do not disturb each other, but one made
 * while a session is connected to the template fails (autovacuum may visit it): tried again then.
 */
async function copyDatabase(template: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt === 20) throw err;
      await sleep(100 * attempt);
    }
  }
}

/** Runs one statement on the database at `url`, on a connection of its own; returns its rows. */
export async function queryDatabase<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Runs one statement on the admin database, on a connection of its own. */
export async function adminQuery(sql: string): Promise<void> {
  await queryDatabase(adminUrl(), sql);
}
