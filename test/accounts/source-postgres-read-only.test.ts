// The account source never writes to a PostgreSQL source, even as a superuser (a throwaway database
// of its own; dblink installed in it when the server has the extension).
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPostgresSource } from "../../src/accounts/source/read-postgres.js";
import { readSourceRows } from "../../src/accounts/source/read-source.js";
import { adminQuery, createTestDatabase } from "../helpers/databases.js";
import { type CanarySource, defineReadOnlyScenarios } from "./source/read-only-scenarios.js";

/** Files that refused statements would have written (the server is on this machine). */
const COPY_FILE = `/tmp/plugchat-sync-test-${randomBytes(6).toString("hex")}.csv`;
const LO_FILE = `/tmp/plugchat-sync-test-${randomBytes(6).toString("hex")}.lo`;

async function query(url: string, sql: string): Promise<unknown[][]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<unknown[]>({ text: sql, rowMode: "array" })).rows;
  } finally {
    await client.end();
  }
}

interface PostgresCanarySource extends CanarySource {
  /** Whether the server could install dblink in the database. */
  dblink: boolean;
}

async function createCanarySource(): Promise<PostgresCanarySource> {
  const database = await createTestDatabase();
  const run = (sql: string) => query(database.url, sql);
  await run("CREATE TABLE customers (id serial PRIMARY KEY, plugchat_account_id text)");
  await run("INSERT INTO customers (plugchat_account_id) VALUES ('acc-1'), ('acc-2')");
  await run("CREATE TABLE canary (id int PRIMARY KEY)");
  await run("INSERT INTO canary VALUES (1), (2), (3)");
  await run(
    "CREATE PROCEDURE purge_canary() LANGUAGE plpgsql AS $$ BEGIN COMMIT; DELETE FROM canary; END $$",
  );
  const dblink = await run("CREATE EXTENSION dblink").then(
    () => true,
    () => false,
  );
  // The read-only user of docs/account-source.md.
  const reader = `plugchat_sync_test_r${randomBytes(4).toString("hex")}`;
  await run(`CREATE ROLE ${reader} LOGIN PASSWORD 'reader-pw'`);
  await run(`GRANT CONNECT ON DATABASE "${database.name}" TO ${reader}`);
  await run(`GRANT USAGE ON SCHEMA public TO ${reader}`);
  await run(`GRANT SELECT ON customers TO ${reader}`);
  await run(`ALTER ROLE ${reader} SET default_transaction_read_only = on`);
  await run("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  const readerUrl = new URL(database.url);
  readerUrl.username = reader;
  readerUrl.password = "reader-pw";
  return {
    url: database.url,
    readerUrl: readerUrl.toString(),
    dblink,
    async canary() {
      const [exists] = await run("SELECT to_regclass('canary') IS NOT NULL");
      if (exists?.[0] !== true) return null;
      return (await run("SELECT id FROM canary ORDER BY id")).map((row) => Number(row[0]));
    },
    async hasTable(name) {
      const [exists] = await run(`SELECT to_regclass('${name}') IS NOT NULL`);
      return exists?.[0] === true;
    },
    async drop() {
      await database.drop();
      await adminQuery(`DROP ROLE IF EXISTS ${reader}`);
      for (const file of [COPY_FILE, LO_FILE]) removeServerFile(file);
    },
  };
}

/** Files the server wrote are its user's: removing them may need rights this process lacks. */
function removeServerFile(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // Left in /tmp: a few bytes, named plugchat-sync-test-*.
  }
}

/** dblink connects as the test's own admin user: `{url}` is replaced by the source's URL. */
const DBLINK_DELETE = "SELECT dblink_exec('{url}', 'DELETE FROM canary')";

describe("an account source in PostgreSQL never writes, even as a superuser", () => {
  defineReadOnlyScenarios({
    create: createCanarySource,
    rawReader: readPostgresSource,
    refused: [
      ["DROP TABLE canary", "it starts with DROP"],
      ["TRUNCATE canary", "it starts with TRUNCATE"],
      ["CREATE TABLE stolen AS SELECT * FROM canary", "it starts with CREATE"],
      ["CALL purge_canary()", "it starts with CALL"],
      [`COPY canary TO '${COPY_FILE}'`, "it starts with COPY"],
      [DBLINK_DELETE, "it calls dblink_exec(), which can write outside the read-only transaction"],
      [
        `SELECT query_to_xml('${DBLINK_DELETE.replaceAll("'", "''")}', true, false, '')`,
        "it calls query_to_xml(), which can write outside the read-only transaction",
      ],
      [
        `SELECT lo_export(lo_from_bytea(0, 'x'), '${LO_FILE}')`,
        "it calls lo_export(), which can write outside the read-only transaction",
      ],
      [
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "it calls set_config(), which can write outside the read-only transaction",
      ],
      ["WITH d AS (DELETE FROM canary RETURNING id) SELECT id::text FROM d", "it contains DELETE"],
      ["SELECT plugchat_account_id FROM customers; DELETE FROM canary", "it is more than one statement"],
      ["/* SELECT plugchat_account_id FROM customers */ DELETE FROM canary", "it starts with DELETE"],
      ["SELECT id::text INTO stolen FROM canary", "it writes its result somewhere (INTO)"],
      ["DO $$ BEGIN DELETE FROM canary; END $$", "it starts with DO"],
      ["SELECT id::text FROM canary FOR UPDATE", "it locks rows (FOR UPDATE …)"],
    ],
    heldBySession: [
      "DROP TABLE canary",
      "TRUNCATE canary",
      "CREATE TABLE stolen AS SELECT * FROM canary",
      "WITH d AS (DELETE FROM canary RETURNING id) SELECT id::text FROM d",
    ],
    noResultSet: "SELECT FROM canary",
    files: [COPY_FILE, LO_FILE],
    creatorAccess: /^it is a superuser$/,
    placeholders: (source) => ({ "{url}": source.url }),
  });

  // What the read-only transaction alone lets through, which is why the statement check refuses
  // these by name and the docs ask for a read-only user.
  describe("what a read-only transaction does not stop", () => {
    let source: PostgresCanarySource;
    const hole = `/tmp/plugchat-sync-test-${randomBytes(6).toString("hex")}.csv`;
    beforeAll(async () => {
      source = await createCanarySource();
    });
    afterAll(async () => {
      await source?.drop();
      removeServerFile(hole);
    });
    const read = async (sql: string) => {
      const rows: (readonly unknown[])[] = [];
      for await (const page of readPostgresSource({
        url: source.url,
        query: sql,
        timeoutMs: 10_000,
        pageSize: 10,
      }))
        rows.push(...page.rows);
      return rows;
    };

    it("dblink_exec writes over a connection of its own", async ({ skip }) => {
      if (!source.dblink) skip("the dblink extension is not installable on this server");
      await read(`SELECT dblink_exec('${source.url}', 'DELETE FROM canary WHERE id = 3')`);
      expect(await source.canary()).toEqual([1, 2]);
      expect(() =>
        readSourceRows({ url: source.url, query: DBLINK_DELETE, timeoutMs: 10_000, pageSize: 10 }),
      ).toThrow(/^ACCOUNT_SOURCE_QUERY was refused before it reached the database: it calls dblink_exec\(\)/);
    });

    it("the session is read-only too, not only its transaction (default_transaction_read_only)", async () => {
      expect(await read("SHOW default_transaction_read_only")).toEqual([["on"]]);
    });

    it("COPY … TO writes a file of the server's", async () => {
      // It returns no rows, so the reader refuses it: after it ran, which is why it is refused by name.
      await expect(read(`COPY (SELECT 1) TO '${hole}'`)).rejects.toMatchObject({ kind: "no_rows" });
      expect(existsSync(hole)).toBe(true);
    });
  });
});
