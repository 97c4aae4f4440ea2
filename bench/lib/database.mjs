// The benchmark's throwaway database (plugchat_sync_bench beside DATABASE_URL), a Prisma client that
// counts the statements it sends, and what PostgreSQL itself says was updated.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { trackAccounts } from "../../build/accounts/repository.js";
import { defaultMigrationsDir, migrate } from "../../build/db/migrations/index.js";
import { withPrisma } from "../../build/db/prisma.js";
import { PrismaClient } from "../../build/generated/prisma/client.js";
import { silentLogger } from "../../build/logger.js";

// BENCH_DATABASE lets two benchmarks run on one server at once (each drops and recreates its own).
const BENCH_DATABASE = process.env.BENCH_DATABASE || "plugchat_sync_bench";

/** The bench database's URL, and the server's `postgres` database for CREATE/DROP. */
function benchUrls() {
  const base = new URL(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/plugchat_sync");
  const url = new URL(base);
  url.pathname = `/${BENCH_DATABASE}`;
  const admin = new URL(base);
  admin.pathname = "/postgres";
  return { url: url.toString(), admin: admin.toString() };
}

/** Drops and recreates the bench database with the project's migrations. */
export async function recreateBenchDatabase() {
  const { url } = benchUrls();
  await dropBenchDatabase();
  await migrate({ databaseUrl: url, migrationsDir: defaultMigrationsDir(), logger: silentLogger });
  return url;
}

export async function dropBenchDatabase() {
  await withClient(benchUrls().admin, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${BENCH_DATABASE}" WITH (FORCE)`),
  );
}

export async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Empties every table, then tracks `ids` again: the next run sets baselines. */
export async function resetAccounts(url, ids) {
  await withClient(url, (client) =>
    client.query("TRUNCATE accounts, account_drift, sync_runs, sync_run_batches RESTART IDENTITY CASCADE"),
  );
  await withPrisma(url, (prisma) => trackAccounts(prisma, ids));
}

/**
 * A Prisma client whose pool counts every statement it sends: each `query` call of a pooled
 * connection is one statement on the wire (BEGIN and COMMIT included).
 */
export function countingPrisma(url) {
  const counter = { statements: 0 };
  const pool = new pg.Pool({ connectionString: url });
  pool.on("connect", (connection) => {
    const query = connection.query;
    connection.query = function countedQuery(...args) {
      counter.statements++;
      return query.apply(this, args);
    };
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
  return { prisma, counter };
}

// Counts, per UPDATE statement on accounts, the rows whose data columns (the synced ones, not the
// status columns) really changed: proof that an unchanged run rewrites no data.
const DATA_COLUMNS = [
  "external_id",
  "name",
  "active",
  "on_start_attendance",
  "on_finish_attendance",
  "on_receive_message",
  "on_sending_message",
  "on_message_status",
];
const row = (alias) => `(${DATA_COLUMNS.map((column) => `${alias}.${column}`).join(", ")})`;

export async function installDataUpdateCounter(url) {
  await withClient(url, async (client) => {
    await client.query(`
      CREATE TABLE IF NOT EXISTS bench_updates (rows bigint NOT NULL, data_rows bigint NOT NULL);
      TRUNCATE bench_updates;
      CREATE OR REPLACE FUNCTION bench_count_updates() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO bench_updates (rows, data_rows)
        SELECT count(*), count(*) FILTER (WHERE ${row("o")} IS DISTINCT FROM ${row("n")})
          FROM old_rows o JOIN new_rows n USING (id);
        RETURN NULL;
      END $$;
      DROP TRIGGER IF EXISTS bench_count_updates ON accounts;
      CREATE TRIGGER bench_count_updates AFTER UPDATE ON accounts
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION bench_count_updates();`);
  });
}

/** Rows updated, and rows whose data columns changed, since the counter was installed; then removes it. */
export async function removeDataUpdateCounter(url) {
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      "SELECT COALESCE(sum(rows), 0)::int AS rows, COALESCE(sum(data_rows), 0)::int AS data_rows FROM bench_updates",
    );
    await client.query("DROP TRIGGER IF EXISTS bench_count_updates ON accounts; DROP TABLE bench_updates");
    return { rowsUpdated: rows[0].rows, rowsUpdatedDataColumns: rows[0].data_rows };
  });
}

/**
 * `n_tup_upd` of accounts from pg_stat_user_tables. Backends report their counts when they end (or
 * when idle, up to seconds later), so call it after the measured client disconnected: it waits until
 * two readings agree.
 */
export async function accountsTuplesUpdated(url) {
  return withClient(url, async (client) => {
    let last = -1;
    for (let attempt = 0; attempt < 50; attempt++) {
      await client.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await client.query(
        "SELECT n_tup_upd::int AS n FROM pg_stat_user_tables WHERE relname = 'accounts'",
      );
      const value = rows[0]?.n ?? 0;
      if (value === last) return value;
      last = value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return last;
  });
}
