// A run's close compares with the integrator's records only the accounts written since the last
// comparison (account_mismatch_checks, kept by triggers on accounts and account_expectations): an
// account nobody wrote keeps its mismatches as they were, and any writer (a run, an import, a hand
// edit, a truncation) makes the next close compare what it wrote, if it can have a mismatch. A check
// written while a comparison runs is left for the next.
import pg from "pg";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { completeRun, openRun } from "../../src/sync/run-lifecycle.js";
import { createMigratedTestDatabase, queryDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
});

beforeEach(async () => {
  await sql("TRUNCATE accounts CASCADE");
  await sql(`INSERT INTO accounts (id, name, last_status, last_synced_at)
             VALUES ('acc-1', 'Loja', 'ok', now()), ('acc-2', 'Mercado', 'ok', now())`);
  await sql(`INSERT INTO account_expectations (account_id, field, expected_value)
             VALUES ('acc-1', 'name', 'Loja'), ('acc-2', 'name', 'Mercado')`);
  await closeRun();
});

function sql(text: string) {
  return queryDatabase(database.url, text);
}

/** Opens and closes one run; returns the mismatches it opened and resolved, as account:field. */
async function closeRun(): Promise<{ opened: string[]; resolved: string[] }> {
  const { logger } = captureLogs();
  const run = await openRun({ prisma, logger }, "cli");
  await completeRun({ prisma, logger }, run.runId);
  const rows = await queryDatabase<{ change: string; key: string }>(
    database.url,
    `SELECT CASE WHEN began_run_id = $1 THEN 'opened' ELSE 'resolved' END AS change,
            account_id || ':' || field AS key
       FROM account_mismatch_spans WHERE began_run_id = $1 OR ended_run_id = $1 ORDER BY key`,
    [run.runId],
  );
  const keys = (change: string) => rows.filter((row) => row.change === change).map((row) => row.key);
  return { opened: keys("opened"), resolved: keys("resolved") };
}

it("compares only the accounts written since the last comparison", async () => {
  // acc-2 behind the triggers' back (replica role: none fires), acc-1 as any writer does.
  await sql(`BEGIN; SET LOCAL session_replication_role = replica;
             UPDATE accounts SET name = 'Renamed' WHERE id = 'acc-2'; COMMIT`);
  await sql("UPDATE accounts SET name = 'Renamed' WHERE id = 'acc-1'");

  expect(await closeRun()).toEqual({ opened: ["acc-1:name"], resolved: [] });
});

it("compares at the next close what any writer changed: accounts, expected values, a truncation", async () => {
  await sql("UPDATE accounts SET name = 'Renamed' WHERE id = 'acc-1'");
  expect(await closeRun()).toEqual({ opened: ["acc-1:name"], resolved: [] });

  await sql("UPDATE account_expectations SET expected_value = 'Renamed' WHERE account_id = 'acc-1'");
  await sql("UPDATE account_expectations SET expected_value = 'Other' WHERE account_id = 'acc-2'");
  expect(await closeRun()).toEqual({ opened: ["acc-2:name"], resolved: ["acc-1:name"] });

  await sql("TRUNCATE account_expectations");
  expect(await closeRun()).toEqual({ opened: [], resolved: ["acc-2:name"] });
});

it("adds no check for a write of an account with no expected value and no open mismatch", async () => {
  await sql(
    "INSERT INTO accounts (id, name, last_status, last_synced_at) VALUES ('acc-3', 'Feira', 'ok', now())",
  );
  await sql("UPDATE accounts SET name = 'Renamed' WHERE id IN ('acc-1', 'acc-3')");

  const checks = await queryDatabase<{ account_id: string }>(
    database.url,
    "SELECT account_id FROM account_mismatch_checks ORDER BY account_id",
  );
  expect(checks.map((check) => check.account_id)).toEqual(["acc-1"]);
  // Its expected values, once written, are its check.
  await sql(
    "INSERT INTO account_expectations (account_id, field, expected_value) VALUES ('acc-3', 'name', 'Feira')",
  );
  expect(await closeRun()).toEqual({ opened: ["acc-1:name", "acc-3:name"], resolved: [] });
});

it("leaves a change not yet committed when a close compares for the next close", async () => {
  const writer = new pg.Client({ connectionString: database.url });
  await writer.connect();
  try {
    await writer.query("BEGIN");
    await writer.query("UPDATE accounts SET name = 'Renamed' WHERE id = 'acc-1'");

    expect(await closeRun()).toEqual({ opened: [], resolved: [] });

    await writer.query("COMMIT");
    expect(await closeRun()).toEqual({ opened: ["acc-1:name"], resolved: [] });
  } finally {
    await writer.end();
  }
});
