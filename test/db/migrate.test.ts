// `migrate` against the real PostgreSQL, on throwaway databases.
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeDatabaseError } from "../../src/db/connection-errors.js";
import {
  defaultMigrationsDir,
  FailedMigrationBlocksDeployError,
  MigrationFailedError,
  MigrationProviderMismatchError,
  migrate,
  readMigrationsDirectory,
  SchemaNotEmptyError,
} from "../../src/db/migrations/index.js";
import { UserFacingError } from "../../src/errors.js";
import {
  createTestDatabase,
  queryDatabase as query,
  reserveTestDatabase,
  type TestDatabase,
} from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

const MIGRATIONS_DIR = defaultMigrationsDir();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let projectMigrations: string[];
const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

beforeAll(async () => {
  projectMigrations = (await readMigrationsDirectory(MIGRATIONS_DIR)).migrations.map((m) => m.name);
  expect(projectMigrations.length).toBeGreaterThan(0);
});

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function track(database: TestDatabase): TestDatabase {
  databases.push(database);
  return database;
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const [row] = await query<{ exists: boolean }>(url, "SELECT to_regclass($1) IS NOT NULL AS exists", [
    table,
  ]);
  return row?.exists === true;
}

/** A temporary copy of prisma/migrations with extra migrations (folder name -> migration.sql). */
async function migrationsWith(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "plugchat-sync-migrations-"));
  tempDirs.push(dir);
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, script] of Object.entries(extra)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, "migration.sql"), script);
  }
  return dir;
}

interface MigrationsTableRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

function migrationRows(url: string): Promise<MigrationsTableRow[]> {
  return query<MigrationsTableRow>(
    url,
    `SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
}

describe("on a database that does not exist yet", () => {
  let database: TestDatabase;

  beforeAll(() => {
    database = track(reserveTestDatabase());
  });

  it("creates it, applies every migration and records each one as Prisma does", async () => {
    const logs = captureLogs("info");
    const result = await migrate({
      databaseUrl: database.url,
      migrationsDir: MIGRATIONS_DIR,
      logger: logs.logger,
    });

    expect(result).toEqual({ applied: projectMigrations, alreadyApplied: [], databaseCreated: true });
    for (const table of ["accounts", "sync_runs", "account_drift", "_prisma_migrations"]) {
      expect(await tableExists(database.url, table), table).toBe(true);
    }

    const rows = await migrationRows(database.url);
    expect(rows.map((row) => row.migration_name)).toEqual(projectMigrations);
    for (const row of rows) {
      const file = await readFile(join(MIGRATIONS_DIR, row.migration_name, "migration.sql"));
      expect(row.id).toMatch(UUID);
      expect(row.checksum).toBe(createHash("sha256").update(file).digest("hex"));
      expect(row.applied_steps_count).toBe(1);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
    }

    for (const name of projectMigrations)
      expect(logs.withMessage(`applied migration ${name}`)).toHaveLength(1);
    const n = projectMigrations.length;
    expect(logs.withMessage(`applied ${n} migration${n === 1 ? "" : "s"}`)).toHaveLength(1);
  });

  it("creates _prisma_migrations exactly as the schema engine does", async () => {
    const columns = await query(
      database.url,
      `SELECT column_name, data_type, character_maximum_length AS length, is_nullable, column_default
       FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      {
        column_name: "id",
        data_type: "character varying",
        length: 36,
        is_nullable: "NO",
        column_default: null,
      },
      {
        column_name: "checksum",
        data_type: "character varying",
        length: 64,
        is_nullable: "NO",
        column_default: null,
      },
      {
        column_name: "finished_at",
        data_type: "timestamp with time zone",
        length: null,
        is_nullable: "YES",
        column_default: null,
      },
      {
        column_name: "migration_name",
        data_type: "character varying",
        length: 255,
        is_nullable: "NO",
        column_default: null,
      },
      { column_name: "logs", data_type: "text", length: null, is_nullable: "YES", column_default: null },
      {
        column_name: "rolled_back_at",
        data_type: "timestamp with time zone",
        length: null,
        is_nullable: "YES",
        column_default: null,
      },
      {
        column_name: "started_at",
        data_type: "timestamp with time zone",
        length: null,
        is_nullable: "NO",
        column_default: "now()",
      },
      {
        column_name: "applied_steps_count",
        data_type: "integer",
        length: null,
        is_nullable: "NO",
        column_default: "0",
      },
    ]);
    const keys = await query(
      database.url,
      // PostgreSQL 18 lists NOT NULL as constraints too (contype 'n'); the schema engine's are columns.
      `SELECT conname, contype::text FROM pg_constraint WHERE conrelid = '"_prisma_migrations"'::regclass AND contype <> 'n'`,
    );
    expect(keys).toEqual([{ conname: "_prisma_migrations_pkey", contype: "p" }]);
  });

  it("applies nothing the second time", async () => {
    const before = await migrationRows(database.url);
    const logs = captureLogs("info");
    const result = await migrate({
      databaseUrl: database.url,
      migrationsDir: MIGRATIONS_DIR,
      logger: logs.logger,
    });

    expect(result).toEqual({ applied: [], alreadyApplied: projectMigrations, databaseCreated: false });
    expect(await migrationRows(database.url)).toEqual(before);
    expect(logs.withMessage("no pending migrations")).toHaveLength(1);
  });
});

it("serialises two runs started at once: both succeed and each migration is applied once", async () => {
  const database = track(reserveTestDatabase());
  // A slow last migration widens the window in which an unlocked second run would apply it again.
  const dir = await migrationsWith({
    "20991231000000_slow": "SELECT pg_sleep(0.5);\nCREATE TABLE slow_marker (id integer);\n",
  });
  const all = [...projectMigrations, "20991231000000_slow"];

  const results = await Promise.all([
    migrate({ databaseUrl: database.url, migrationsDir: dir }),
    migrate({ databaseUrl: database.url, migrationsDir: dir }),
  ]);

  expect(results.map((r) => r.databaseCreated).sort()).toEqual([false, true]);
  expect(results.map((r) => r.applied)).toContainEqual(all);
  expect(results.map((r) => r.applied)).toContainEqual([]);
  const counts = await query<{ migration_name: string; count: number }>(
    database.url,
    `SELECT migration_name, count(*)::int AS count FROM "_prisma_migrations" GROUP BY 1 ORDER BY 1`,
  );
  expect(counts).toEqual(all.map((migration_name) => ({ migration_name, count: 1 })));
});

describe("a failing migration", () => {
  const BROKEN = "20991231000000_broken";
  let database: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    database = track(reserveTestDatabase());
    dir = await migrationsWith({
      [BROKEN]:
        "-- a good statement, then a bad one\nCREATE TABLE broken_good (id integer);\nCREATE TABLE broken_bad (id no_such_type);\n",
    });
  });

  it("is reported by name, leaves none of its statements behind and records its error", async () => {
    const error = await migrate({ databaseUrl: database.url, migrationsDir: dir }).catch(
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(MigrationFailedError);
    const message = (error as Error).message;
    expect(message).toContain(BROKEN);
    expect(message).toContain('type "no_such_type" does not exist');
    expect(message).toContain("line 3");
    expect(message).not.toContain("\n");

    // The migrations before it were applied; nothing of it was.
    expect(await tableExists(database.url, "accounts")).toBe(true);
    expect(await tableExists(database.url, "broken_good")).toBe(false);

    const row = (await migrationRows(database.url)).find((r) => r.migration_name === BROKEN);
    expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(row?.logs).toContain(`Migration name: ${BROKEN}`);
    expect(row?.logs).toContain("Database error code: 42704");
    expect(row?.logs).toContain('ERROR: type "no_such_type" does not exist');
  });

  it("blocks the next deploy until it is marked rolled back", async () => {
    const error = await migrate({ databaseUrl: database.url, migrationsDir: dir }).catch(
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(FailedMigrationBlocksDeployError);
    expect((error as Error).message).toContain(`npx prisma migrate resolve --rolled-back ${BROKEN}`);
    expect((error as Error).message).not.toContain("\n");

    // What `prisma migrate resolve --rolled-back` does, then a fixed script: deploy applies it again.
    await query(
      database.url,
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`,
      [BROKEN],
    );
    await writeFile(join(dir, BROKEN, "migration.sql"), "CREATE TABLE broken_good (id integer);\n");
    const result = await migrate({ databaseUrl: database.url, migrationsDir: dir });

    expect(result.applied).toEqual([BROKEN]);
    expect(await tableExists(database.url, "broken_good")).toBe(true);
    const rows = (await migrationRows(database.url)).filter((r) => r.migration_name === BROKEN);
    expect(rows.map((r) => [r.rolled_back_at === null, r.finished_at === null])).toEqual([
      [false, true],
      [true, false],
    ]);
  });
});

it("refuses a schema that has tables but no _prisma_migrations", async () => {
  const database = track(await createTestDatabase());
  await query(database.url, "CREATE TABLE legacy_customers (id integer)");

  const error = await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR }).catch(
    (err: unknown) => err,
  );

  expect(error).toBeInstanceOf(SchemaNotEmptyError);
  expect((error as Error).message).toContain("legacy_customers");
  expect(await tableExists(database.url, "_prisma_migrations")).toBe(false);
  expect(await tableExists(database.url, "accounts")).toBe(false);
});

it("works in the schema named by Prisma's ?schema= parameter, creating it if needed", async () => {
  const database = track(reserveTestDatabase());
  const result = await migrate({
    databaseUrl: `${database.url}?schema=reporting`,
    migrationsDir: MIGRATIONS_DIR,
  });

  expect(result.applied).toEqual(projectMigrations);
  const tables = await query<{ table: string }>(
    database.url,
    `SELECT schemaname || '.' || tablename AS table FROM pg_tables WHERE tablename IN ('accounts', '_prisma_migrations')
     ORDER BY 1`,
  );
  expect(tables.map((t) => t.table)).toEqual(["reporting._prisma_migrations", "reporting.accounts"]);
});

it("refuses migrations written for another provider, before connecting", async () => {
  const dir = await migrationsWith({});
  await writeFile(join(dir, "migration_lock.toml"), 'provider = "mysql"\n');

  const error = await migrate({
    databaseUrl: "postgresql://postgres@127.0.0.1:1/x",
    migrationsDir: dir,
  }).catch((err: unknown) => err);

  expect(error).toBeInstanceOf(MigrationProviderMismatchError);
});

describe("connection failures", () => {
  const UNREACHABLE = "postgresql://postgres:s3cret@127.0.0.1:1/x";
  const EXPECTED =
    "Cannot reach PostgreSQL at 127.0.0.1:1 (connection refused): check DATABASE_URL and that the server is running";

  it("an unreachable server gives one line without the password", async () => {
    const error = await migrate({ databaseUrl: UNREACHABLE, migrationsDir: MIGRATIONS_DIR }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(UserFacingError);
    expect((error as Error).message).toBe(EXPECTED);

    // The same from a raw pg error.
    const client = new pg.Client({ connectionString: UNREACHABLE });
    const raw = await client.connect().catch((err: unknown) => err);
    expect(describeDatabaseError(raw, UNREACHABLE)?.message).toBe(EXPECTED);
  });

  it("a missing database, when migrate may not create it, is named with the server", async () => {
    const database = reserveTestDatabase();
    const error = await migrate({
      databaseUrl: database.url.replace("postgres@", "postgres:s3cret@"),
      migrationsDir: MIGRATIONS_DIR,
      createDatabase: false,
    }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UserFacingError);
    expect((error as Error).message).toMatch(
      new RegExp(`^PostgreSQL at .+ has no database "${database.name}": `),
    );
    expect((error as Error).message).not.toContain("s3cret");
  });
});

/**
 * A new database migrated up to `migration`, not included (an upgrade's starting point): the later
 * migrations may build on it, so they are left out too.
 */
async function databaseMigratedUpTo(migration: string): Promise<TestDatabase> {
  const database = track(await createTestDatabase());
  const before = await mkdtemp(join(tmpdir(), "plugchat-sync-migrations-"));
  tempDirs.push(before);
  await cp(MIGRATIONS_DIR, before, { recursive: true });
  for (const entry of await readdir(before)) {
    if (entry >= migration && !entry.endsWith(".toml")) await rm(join(before, entry), { recursive: true });
  }
  await migrate({ databaseUrl: database.url, migrationsDir: before });
  return database;
}

describe("20261202100000_accounts_failing_since on a database with accounts", () => {
  const MIGRATION = "20261202100000_accounts_failing_since";

  it("fills failing_since only where it is known (a spell of one failure) and shows it last in the view", async () => {
    const database = await databaseMigratedUpTo(MIGRATION);
    await query(
      database.url,
      `INSERT INTO accounts (id, last_status, consecutive_failures, last_attempt_at) VALUES
         ('once', 'failed', 1, '2026-12-01 10:00:00+00'),
         ('thrice', 'failed', 3, '2026-12-01 11:00:00+00'),
         ('fine', 'ok', 0, '2026-12-01 12:00:00+00')`,
    );

    await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });

    const rows = await query<{ id: string; failing_since: Date | null }>(
      database.url,
      "SELECT id, failing_since FROM accounts ORDER BY id",
    );
    expect(rows).toEqual([
      { id: "fine", failing_since: null },
      { id: "once", failing_since: new Date("2026-12-01T10:00:00Z") },
      { id: "thrice", failing_since: null },
    ]);
    const columns = await query<{ column_name: string }>(
      database.url,
      `SELECT column_name FROM information_schema.columns
        WHERE table_name = 'account_current_state' ORDER BY ordinal_position`,
    );
    const names = columns.map((column) => column.column_name);
    // Added after the columns the view had (later migrations add theirs after it).
    expect(names.slice(names.indexOf("last_drift_at"), names.indexOf("last_drift_at") + 2)).toEqual([
      "last_drift_at",
      "failing_since",
    ]);
  });
});

describe("20261205000000_sync_runs_stop_reason on a database with runs", () => {
  const MIGRATION = "20261205000000_sync_runs_stop_reason";
  const REFUSED =
    "Plugchat refused the token (HTTP 401) for account acc-00001: check PLUGCHAT_TOKEN; the run stopped (every account would fail the same way)";

  it("fills stop_reason for the runs a batch stopped, running or closed, and leaves error as it was", async () => {
    const database = await databaseMigratedUpTo(MIGRATION);
    await query(
      database.url,
      `INSERT INTO sync_runs (id, trigger, status, error) VALUES
         (1, 'cli', 'succeeded', NULL),
         (2, 'schedule', 'failed', $1),
         (3, 'schedule', 'failed', 'abandoned: its process stopped sending heartbeats (crash or kill)'),
         (4, 'manual', 'failed', '1 of 3 batches failed after every attempt, so their accounts were not synced (batch 2): boom'),
         (5, 'cli', 'partial', NULL),
         (6, 'schedule', 'running', $1)`,
      [REFUSED],
    );
    const errorsBefore = await query<{ id: number; error: string | null }>(
      database.url,
      "SELECT id, error FROM sync_runs ORDER BY id",
    );

    await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });

    const rows = await query<{ id: number; error: string | null; stop_reason: string | null }>(
      database.url,
      "SELECT id, error, stop_reason FROM sync_runs ORDER BY id",
    );
    expect(rows.map(({ id, error }) => ({ id, error }))).toEqual(errorsBefore);
    expect(rows.map(({ id, stop_reason }) => [id, stop_reason])).toEqual([
      [1, null],
      [2, REFUSED],
      [3, null],
      [4, null],
      [5, null],
      [6, REFUSED],
    ]);
  });
});

describe("20261205200000_sync_runs_interrupted on a database with runs", () => {
  const MIGRATION = "20261205200000_sync_runs_interrupted";

  it("keeps every run, then lets a run close as interrupted, and still refuses a status nobody knows", async () => {
    const database = await databaseMigratedUpTo(MIGRATION);
    await query(
      database.url,
      `INSERT INTO sync_runs (id, trigger, status) VALUES
         (1, 'cli', 'succeeded'), (2, 'schedule', 'partial'), (3, 'manual', 'failed'), (4, 'cli', 'running')`,
    );
    const update = "UPDATE sync_runs SET status = $1 WHERE id = 4";
    await expect(query(database.url, update, ["interrupted"])).rejects.toThrow(/sync_runs_status_check/);

    await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });

    await query(database.url, update, ["interrupted"]);
    const rows = await query<{ id: number; status: string }>(
      database.url,
      "SELECT id, status FROM sync_runs ORDER BY id",
    );
    expect(rows.map((row) => [row.id, row.status])).toEqual([
      [1, "succeeded"],
      [2, "partial"],
      [3, "failed"],
      [4, "interrupted"],
    ]);
    await expect(query(database.url, "UPDATE sync_runs SET status = 'paused' WHERE id = 1")).rejects.toThrow(
      /sync_runs_status_check/,
    );
  });
});

describe("20261205100000 to 20261205210000 (expectations, onMessageDeliveryError, extra) on a database in use", () => {
  const FIRST = "20261205100000_account_expectations";

  it("keep every account, run and drift row, add empty columns, and the views list the same accounts", async () => {
    const database = await databaseMigratedUpTo(FIRST);
    await query(
      database.url,
      `INSERT INTO accounts (id, name, active, on_receive_message, last_status, last_synced_at, tracked) VALUES
         ('acc-1', 'Loja Um', true, 'https://hooks.example/1', 'ok', now(), true),
         ('acc-2', 'Loja Dois', false, NULL, 'not_found', now(), true),
         ('acc-3', 'Gone', true, NULL, 'ok', now(), false)`,
    );
    await query(database.url, "INSERT INTO sync_runs (id, trigger, status) VALUES (1, 'cli', 'succeeded')");
    await query(
      database.url,
      `INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value)
       VALUES ('acc-1', 1, 'name', 'Loja', 'Loja Um'), ('acc-2', 1, 'exists', 'true', 'false')`,
    );
    const before = {
      accounts: await query(
        database.url,
        "SELECT id, name, active, on_receive_message, last_status FROM accounts ORDER BY id",
      ),
      drift: await query(
        database.url,
        "SELECT account_id, field, old_value, new_value FROM account_drift ORDER BY id",
      ),
      state: await query(
        database.url,
        "SELECT account_id, name, last_drift_at FROM account_current_state ORDER BY account_id",
      ),
    };

    await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });

    expect(
      await query(
        database.url,
        "SELECT id, name, active, on_receive_message, last_status FROM accounts ORDER BY id",
      ),
    ).toEqual(before.accounts);
    expect(
      await query(
        database.url,
        "SELECT account_id, field, old_value, new_value FROM account_drift ORDER BY id",
      ),
    ).toEqual(before.drift);
    expect(
      await query(database.url, "SELECT id, on_message_delivery_error, extra FROM accounts ORDER BY id"),
    ).toEqual([
      { id: "acc-1", on_message_delivery_error: null, extra: {} },
      { id: "acc-2", on_message_delivery_error: null, extra: {} },
      { id: "acc-3", on_message_delivery_error: null, extra: {} },
    ]);
    expect(
      await query(database.url, "SELECT mismatches_open, mismatches_opened, extra_cut_fields FROM sync_runs"),
    ).toEqual([{ mismatches_open: null, mismatches_opened: null, extra_cut_fields: [] }]);
    expect(
      await query(
        database.url,
        "SELECT account_id, name, last_drift_at FROM account_current_state ORDER BY account_id",
      ),
    ).toEqual(before.state);
    const columns = (
      await query<{ column_name: string }>(
        database.url,
        `SELECT column_name FROM information_schema.columns
          WHERE table_name = 'account_current_state' ORDER BY ordinal_position`,
      )
    ).map((column) => column.column_name);
    expect(columns.slice(-3)).toEqual(["failing_since", "on_message_delivery_error", "extra"]);
    expect(await query(database.url, "SELECT * FROM account_mismatches")).toEqual([]);
    expect(await query(database.url, "SELECT count(*)::int AS n FROM account_expectations")).toEqual([
      { n: 0 },
    ]);
  });
});

describe("20261205220000_account_versions on a database with accounts, runs and drift", () => {
  const MIGRATION = "20261205220000_account_versions";
  const at = (text: string) => new Date(`2026-11-${text}Z`);

  it("rebuilds each synced account's versions from its row and its drift, walking back from the row", async () => {
    const database = await databaseMigratedUpTo(MIGRATION);
    await query(
      database.url,
      `INSERT INTO sync_runs (id, trigger, status, started_at, finished_at) VALUES
         (1, 'cli', 'succeeded', '2026-11-01 10:00:00+00', '2026-11-01 10:05:00+00'),
         (2, 'schedule', 'succeeded', '2026-11-02 10:00:00+00', '2026-11-02 10:05:00+00'),
         (3, 'schedule', 'succeeded', '2026-11-03 10:00:00+00', '2026-11-03 10:05:00+00'),
         (4, 'schedule', 'partial', '2026-11-04 10:00:00+00', '2026-11-04 10:05:00+00'),
         (5, 'schedule', 'succeeded', '2026-11-05 10:00:00+00', '2026-11-05 10:05:00+00');
       INSERT INTO accounts (id, name, active, on_message_delivery_error, extra, tracked, added_at,
                             last_synced_at, last_status, missing_since) VALUES
         ('plain', 'Plain', true, NULL, '{}', true, '2026-10-31 09:00+00', '2026-11-05 10:01+00', 'ok', NULL),
         ('renamed', 'Newer', false, NULL, '{}', true, '2026-10-31 09:00+00', '2026-11-05 10:01+00', 'ok', NULL),
         ('gone', 'Gone', true, 'https://err.example', '{}', true, '2026-10-31 09:00+00',
          '2026-11-04 10:02+00', 'not_found', '2026-11-05 10:02+00'),
         ('extra', 'Extra', true, NULL, '{"plan": {"tier": "pro"}, "sessionName": "s2", "seats": 3, "note": "x"}',
          true, '2026-10-31 09:00+00', '2026-11-05 10:01+00', 'ok', NULL),
         ('late', 'Late', true, NULL, '{}', true, '2026-11-02 10:00:30+00', '2026-11-05 10:01+00', 'ok', NULL),
         ('removed', 'Removed', true, NULL, '{}', false, '2026-10-31 09:00+00', '2026-11-01 10:01+00', 'ok', NULL),
         ('never', NULL, NULL, NULL, '{}', true, '2026-10-31 09:00+00', NULL, 'failed', NULL),
         ('never-found', NULL, NULL, NULL, '{}', true, '2026-10-31 09:00+00', NULL, 'not_found', '2026-11-01 10:01+00');
       INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value, detected_at) VALUES
         ('renamed', 2, 'name', 'Old', 'New', '2026-11-02 10:01+00'),
         ('renamed', 2, 'active', 'true', 'false', '2026-11-02 10:01+00'),
         ('renamed', 4, 'name', 'New', 'Newer', '2026-11-04 10:01+00'),
         ('gone', 2, 'exists', 'true', 'false', '2026-11-02 10:02+00'),
         ('gone', 3, 'exists', 'false', 'true', '2026-11-03 10:02+00'),
         ('gone', 3, 'onMessageDeliveryError', NULL, 'https://err.example', '2026-11-03 10:02+00'),
         ('gone', 5, 'exists', 'true', 'false', '2026-11-05 10:02+00'),
         ('extra', 3, 'sessionName', 's1', 's2', '2026-11-03 10:03+00'),
         ('extra', 4, 'plan', '{"tier":"free"}', '{"tier":"pro"}', '2026-11-04 10:03+00'),
         ('extra', 4, 'seats', '2', '3', '2026-11-04 10:03+00'),
         ('extra', 4, 'note', '5', 'x', '2026-11-04 10:03+00');`,
    );

    await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });

    const rows = await query(
      database.url,
      `SELECT account_id, valid_from, valid_to, run_id, "exists", name, active, on_message_delivery_error, extra
         FROM account_versions ORDER BY account_id, valid_from`,
    );
    const version = (
      account_id: string,
      valid_from: string,
      valid_to: string | null,
      run_id: number | null,
      values: Record<string, unknown>,
    ) => ({
      account_id,
      valid_from: at(valid_from),
      valid_to: valid_to === null ? null : at(valid_to),
      run_id,
      exists: true,
      active: true,
      on_message_delivery_error: null,
      extra: {},
      ...values,
    });
    expect(rows).toEqual([
      // Older values of extra fields: JSON unless the field is a string now ("5" then, a string now).
      version("extra", "01 10:00", "03 10:03", 1, {
        name: "Extra",
        extra: { plan: { tier: "free" }, sessionName: "s1", seats: 2, note: "5" },
      }),
      version("extra", "03 10:03", "04 10:03", 3, {
        name: "Extra",
        extra: { plan: { tier: "free" }, sessionName: "s2", seats: 2, note: "5" },
      }),
      version("extra", "04 10:03", null, 4, {
        name: "Extra",
        extra: { plan: { tier: "pro" }, sessionName: "s2", seats: 3, note: "x" },
      }),
      version("gone", "01 10:00", "02 10:02", 1, { name: "Gone" }),
      version("gone", "02 10:02", "03 10:02", 2, { name: "Gone", exists: false }),
      version("gone", "03 10:02", "05 10:02", 3, {
        name: "Gone",
        on_message_delivery_error: "https://err.example",
      }),
      version("gone", "05 10:02", null, 5, {
        name: "Gone",
        exists: false,
        on_message_delivery_error: "https://err.example",
      }),
      // Added while run 2 was going: its first version begins when it was added, seen by run 2.
      version("late", "02 10:00:30", null, 2, { name: "Late" }),
      version("plain", "01 10:00", null, 1, { name: "Plain" }),
      version("removed", "01 10:00", null, 1, { name: "Removed" }),
      version("renamed", "01 10:00", "02 10:01", 1, { name: "Old", active: true }),
      version("renamed", "02 10:01", "04 10:01", 2, { name: "New", active: false }),
      version("renamed", "04 10:01", null, 4, { name: "Newer", active: false }),
    ]);
    // The writes of the next run go on from there: the current versions are the rows.
    expect(
      await query(
        database.url,
        `SELECT count(*)::int AS n FROM accounts a JOIN account_versions v ON v.account_id = a.id AND v.valid_to IS NULL
          WHERE (v.exists, v.name, v.active, v.on_message_delivery_error, v.extra)
                IS DISTINCT FROM (a.missing_since IS NULL, a.name, a.active, a.on_message_delivery_error, a.extra)`,
      ),
    ).toEqual([{ n: 0 }]);
  });
});

describe("20261206000000_unchanged_runs_write_no_account_rows on a database in use", () => {
  const MIGRATION = "20261206000000_unchanged_runs_write_no_account_rows";

  it("keeps every account and batch row, and account_current_state shows the same accounts and times", async () => {
    const database = await databaseMigratedUpTo(MIGRATION);
    await query(
      database.url,
      `INSERT INTO accounts (id, name, last_status, last_synced_at, last_attempt_at, consecutive_failures, tracked)
       VALUES ('ok-1', 'Loja Um', 'ok', '2026-12-01T10:00:00Z', '2026-12-01T10:00:00Z', 0, true),
              ('failing', 'Loja Dois', 'failed', '2026-11-30T10:00:00Z', '2026-12-01T10:00:00Z', 2, true),
              ('pending', NULL, 'pending', NULL, NULL, 0, true),
              ('gone', 'Gone', 'ok', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', 0, false)`,
    );
    await query(database.url, "INSERT INTO sync_runs (id, trigger, status) VALUES (1, 'cli', 'succeeded')");
    await query(
      database.url,
      `INSERT INTO sync_run_batches (run_id, batch_index, accounts, written_by, written_at)
       VALUES (1, 0, 3, 'host:1', '2026-12-01T10:00:00Z')`,
    );
    const state = "SELECT * FROM account_current_state ORDER BY account_id";
    const accounts = "SELECT * FROM accounts ORDER BY id";
    const before = { state: await query(database.url, state), accounts: await query(database.url, accounts) };

    await migrate({ databaseUrl: database.url, migrationsDir: MIGRATIONS_DIR });

    expect(await query(database.url, state)).toEqual(before.state);
    expect(await query(database.url, accounts)).toEqual(before.accounts);
    expect(
      await query(
        database.url,
        "SELECT run_id, batch_index, accounts, confirmed_ids, first_confirmed_id FROM sync_run_batches",
      ),
    ).toEqual([{ run_id: 1, batch_index: 0, accounts: 3, confirmed_ids: [], first_confirmed_id: null }]);
  });
});
