// Applies Prisma migrations with `pg`, reproducing `prisma migrate deploy` (the schema engine's
// `applyMigrations` on PostgreSQL) step for step, so that the Prisma CLI, where it can run, sees the
// database exactly as if it had migrated it itself.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type pg from "pg";
import { type Logger, silentLogger } from "../../logger.js";
import { databaseLocation, parseDatabaseUrl } from "../connection-errors.js";
import {
  connect,
  databaseName,
  ensureDatabase,
  pgCode,
  prismaSchemaName,
  quoteIdentifier,
} from "./database.js";
import { type LocalMigration, readMigrationsDirectory } from "./directory.js";
import {
  describeScriptFailure,
  FailedMigrationBlocksDeployError,
  MigrationFailedError,
  MigrationLockTimeoutError,
  MigrationProviderMismatchError,
  SchemaNotEmptyError,
} from "./errors.js";
import { failedMigrations, type MigrationRow, migrationsTableState, planDeploy } from "./plan.js";

export interface MigrateOptions {
  databaseUrl: string;
  migrationsDir: string;
  logger?: Logger;
  /** Create the database when it does not exist (default true), as `prisma migrate deploy` does. */
  createDatabase?: boolean;
}

export interface MigrateResult {
  /** Migrations this run applied, in order. */
  applied: string[];
  /** Migrations of the folder the database already had. */
  alreadyApplied: string[];
  databaseCreated: boolean;
}

/** The engine's advisory lock key: every `prisma migrate` command on this database waits for it. */
const MIGRATE_ADVISORY_LOCK = 72707369;
/** The engine gives up waiting for the lock after 10 s. */
const LOCK_TIMEOUT_MS = 10_000;

/** The engine's DDL, verbatim. */
const MIGRATIONS_TABLE_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

/**
 * Applies the pending migrations of `migrationsDir`, like `prisma migrate deploy`:
 * - creates the database if missing (unless `createDatabase: false`);
 * - holds the engine's advisory lock for the whole run, so concurrent runs (this tool or Prisma's)
 *   take turns, and each migration is applied once;
 * - refuses a schema that has tables but no `_prisma_migrations` (P3005), and any deploy while a
 *   migration is recorded as failed (P3009);
 * - runs each script as one simple query: Postgres wraps the statements in one implicit transaction,
 *   so a failing script leaves nothing behind (unless the script itself commits); its error goes to
 *   `_prisma_migrations.logs` and the run stops.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const { databaseUrl, migrationsDir } = options;
  const logger = options.logger ?? silentLogger;
  parseDatabaseUrl(databaseUrl);
  const location = databaseLocation(databaseUrl);

  const folder = await readMigrationsDirectory(migrationsDir);
  if (folder.lockProvider !== undefined && folder.lockProvider !== "postgresql") {
    throw new MigrationProviderMismatchError(join(migrationsDir, "migration_lock.toml"), folder.lockProvider);
  }
  for (const name of folder.foldersWithoutScript) {
    logger.warn({ migration: name }, `ignoring migrations folder ${name}: it has no migration.sql`);
  }

  const databaseCreated =
    options.createDatabase === false ? false : (await ensureDatabase(databaseUrl)).created;
  if (databaseCreated) logger.info({ database: location }, `created database ${databaseName(databaseUrl)}`);

  const client = await connect(databaseUrl);
  try {
    const schema = prismaSchemaName(databaseUrl);
    // The engine sets the search path only when the URL names a schema; without one, the server's default
    // applies (and "public" is the schema it checks for tables).
    if (schema.explicit) await client.query(`SET search_path = ${quoteIdentifier(schema.name)}`);
    await acquireMigrateLock(client, location);
    try {
      const outcome = await deploy(client, folder.migrations, schema.name, location, logger);
      return { ...outcome, databaseCreated };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATE_ADVISORY_LOCK]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function deploy(
  client: pg.Client,
  local: LocalMigration[],
  schema: string,
  location: string,
  logger: Logger,
): Promise<Omit<MigrateResult, "databaseCreated">> {
  await ensureSchemaExists(client, schema);
  await initializeMigrationsTable(client, schema, location);

  const rows = await loadMigrationRows(client);
  const failed = failedMigrations(rows);
  if (failed.length > 0) throw new FailedMigrationBlocksDeployError(failed);

  const plan = planDeploy(local, rows);
  if (plan.unknownToFolder.length > 0) {
    logger.warn(
      { migrations: plan.unknownToFolder },
      "the database has migrations this version does not know (a newer version migrated it?)",
    );
  }

  const applied: string[] = [];
  for (const migration of plan.pending) {
    await applyMigration(client, migration, logger);
    applied.push(migration.name);
  }
  logger.info(
    { applied },
    applied.length === 0
      ? "no pending migrations"
      : `applied ${applied.length} migration${applied.length === 1 ? "" : "s"}`,
  );
  return { applied, alreadyApplied: plan.alreadyApplied };
}

async function acquireMigrateLock(client: pg.Client, location: string): Promise<void> {
  await client.query(`SET lock_timeout = ${LOCK_TIMEOUT_MS}`);
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATE_ADVISORY_LOCK]);
  } catch (err) {
    if (pgCode(err) === "55P03") throw new MigrationLockTimeoutError(location, LOCK_TIMEOUT_MS);
    throw err;
  } finally {
    // Back to the session's own setting: migration scripts run as the engine would run them.
    await client.query("RESET lock_timeout");
  }
}

/** The engine creates the schema it works in when it is missing. */
async function ensureSchemaExists(client: pg.Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ exists: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists",
    [schema],
  );
  if (rows[0]?.exists !== true) await client.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
}

async function initializeMigrationsTable(client: pg.Client, schema: string, location: string): Promise<void> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname = $1 ORDER BY c.relname`,
    [schema],
  );
  const state = migrationsTableState(rows.map((row) => row.relname));
  if (state.kind === "absent-schema-not-empty") throw new SchemaNotEmptyError(location, schema, state.tables);
  if (state.kind === "absent-schema-empty") await client.query(MIGRATIONS_TABLE_DDL);
}

async function loadMigrationRows(client: pg.Client): Promise<MigrationRow[]> {
  const { rows } = await client.query<{
    id: string;
    checksum: string;
    migration_name: string;
    started_at: Date;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    logs: string | null;
    applied_steps_count: number;
  }>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
     FROM "_prisma_migrations" ORDER BY started_at ASC`,
  );
  return rows.map((row) => ({
    id: row.id,
    checksum: row.checksum,
    migrationName: row.migration_name,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    rolledBackAt: row.rolled_back_at,
    logs: row.logs,
    appliedStepsCount: row.applied_steps_count,
  }));
}

async function applyMigration(client: pg.Client, migration: LocalMigration, logger: Logger): Promise<void> {
  const id = randomUUID();
  // Timestamps come from this machine's clock, as the engine's do.
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, started_at, migration_name) VALUES ($1, $2, $3, $4)`,
    [id, migration.checksum, new Date(), migration.name],
  );
  const started = performance.now();
  try {
    // No parameters: pg sends a simple query, which may hold many statements (one implicit transaction).
    await client.query(migration.script);
  } catch (err) {
    const failure = describeScriptFailure(migration.name, migration.script, err);
    // A script that opened its own transaction (BEGIN) leaves it aborted; close it so the row can be updated.
    await client.query("ROLLBACK").catch(() => {});
    await client
      .query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, failure.logs])
      .catch((logErr: unknown) => {
        logger.error(
          { err: logErr, migration: migration.name },
          "could not record the failure in _prisma_migrations",
        );
      });
    throw new MigrationFailedError(migration.name, failure, { cause: err });
  }
  await client.query(
    `UPDATE "_prisma_migrations" SET applied_steps_count = applied_steps_count + 1, finished_at = $2 WHERE id = $1`,
    [id, new Date()],
  );
  const durationMs = Math.round(performance.now() - started);
  logger.info({ migration: migration.name, durationMs }, `applied migration ${migration.name}`);
}
