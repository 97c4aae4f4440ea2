// The account source never writes to a MariaDB source (the machine's, 127.0.0.1:3306), where a DDL
// statement would commit the read-only transaction. Without a reachable MariaDB the tests are
// reported as skipped, with the reason; under CI=true they fail instead.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMysqlSource } from "../../src/accounts/source/read-mysql.js";
import { readSourceRows } from "../../src/accounts/source/read-source.js";
import { createMariadbTestDatabase, MARIADB_ADMIN_URL, mariadbReachable } from "../helpers/mariadb.js";
import { startStallingProxy } from "../helpers/stalling-proxy.js";
import { type CanarySource, defineReadOnlyScenarios } from "./source/read-only-scenarios.js";

const reachable = await mariadbReachable();
const where = new URL(MARIADB_ADMIN_URL).host;
if (!reachable && process.env.CI === "true") {
  throw new Error(
    `MariaDB at ${where} is not reachable and CI=true: start it (.ci/run does) or set TEST_MARIADB_URL`,
  );
}

/** Where SELECT … INTO OUTFILE would write, were it run (the server is on this machine). */
const OUTFILE = `/tmp/plugchat-sync-test-${randomBytes(6).toString("hex")}.txt`;

async function select(url: string, sql: string): Promise<unknown[][]> {
  const connection = await mysql.createConnection({ uri: url, rowsAsArray: true });
  try {
    const [rows] = await connection.query(sql);
    return rows as unknown[][];
  } finally {
    await connection.end();
  }
}

async function createCanarySource(): Promise<CanarySource> {
  const database = await createMariadbTestDatabase();
  await database.query(
    "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, plugchat_account_id VARCHAR(200) NULL)",
  );
  await database.query("INSERT INTO customers (plugchat_account_id) VALUES ('acc-1'), ('acc-2')");
  await database.query("CREATE TABLE canary (id INT PRIMARY KEY)");
  await database.query("INSERT INTO canary VALUES (1), (2), (3)");
  // Commits the read-only transaction, then deletes: what the tester's CALL did.
  await database.query("CREATE PROCEDURE purge_canary() BEGIN COMMIT; DELETE FROM canary; END");
  // The read-only user of docs/account-source.md.
  const reader = `plugchat_sync_test_r${randomBytes(4).toString("hex")}`;
  await database.query(`CREATE USER '${reader}'@'%' IDENTIFIED BY 'reader-pw'`);
  await database.query(`GRANT SELECT ON \`${database.name}\`.customers TO '${reader}'@'%'`);
  const readerUrl = new URL(database.url);
  readerUrl.username = reader;
  readerUrl.password = "reader-pw";
  return {
    url: database.url,
    readerUrl: readerUrl.toString(),
    async canary() {
      try {
        return (await select(database.url, "SELECT id FROM canary ORDER BY id")).map((row) => Number(row[0]));
      } catch (error) {
        if ((error as { code?: string }).code === "ER_NO_SUCH_TABLE") return null;
        throw error;
      }
    },
    async hasTable(name) {
      const rows = await select(database.url, `SHOW TABLES LIKE '${name}'`);
      return rows.length > 0;
    },
    async drop() {
      await database.query(`DROP USER IF EXISTS '${reader}'@'%'`);
      await database.drop();
      rmSync(OUTFILE, { force: true });
    },
  };
}

describe.skipIf(!reachable)(`an account source in MariaDB (${where}) never writes`, () => {
  defineReadOnlyScenarios({
    create: createCanarySource,
    rawReader: readMysqlSource,
    refused: [
      ["DROP TABLE canary", "it starts with DROP"],
      ["TRUNCATE canary", "it starts with TRUNCATE"],
      ["CREATE TABLE stolen AS SELECT * FROM canary", "it starts with CREATE"],
      ["CALL purge_canary()", "it starts with CALL"],
      ["SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(15)", "it starts with SET"],
      [`SELECT id FROM canary INTO OUTFILE '${OUTFILE}'`, "it writes its result somewhere (INTO)"],
      ["SELECT plugchat_account_id FROM customers; DROP TABLE canary", "it is more than one statement"],
      [
        "/*!40101 DROP TABLE canary */",
        "it has a MySQL executable comment (/*! … */), which the server runs as code",
      ],
      [
        `SELECT id FROM canary /*!50000 INTO OUTFILE '${OUTFILE}' */`,
        "it has a MySQL executable comment (/*! … */), which the server runs as code",
      ],
      ["SELECT 1--1 INTO @stolen", "it writes its result somewhere (INTO)"],
      ["SELECT id FROM canary FOR UPDATE", "it locks rows (FOR UPDATE …)"],
    ],
    heldBySession: [
      "DROP TABLE canary",
      "TRUNCATE canary",
      "CREATE TABLE stolen AS SELECT * FROM canary",
      "CALL purge_canary()",
    ],
    noResultSet: "DO 1",
    files: [OUTFILE],
    creatorAccess: /^it has ALL PRIVILEGES on \*\.\*$/,
  });

  describe("time", () => {
    let source: CanarySource;
    beforeAll(async () => {
      source = await createCanarySource();
    });
    afterAll(async () => {
      await source?.drop();
    });

    it("the driver's own timeout ends a query whose answer never comes, as a timeout", async () => {
      const target = new URL(source.url);
      const proxy = await startStallingProxy(
        { host: target.hostname, port: Number(target.port || 3306) },
        "stall-here",
      );
      try {
        const url = new URL(source.url);
        url.host = `127.0.0.1:${proxy.port}`;
        const query = "SELECT plugchat_account_id FROM customers /* stall-here */";
        const pages = readSourceRows({ url: url.toString(), query, timeoutMs: 300, pageSize: 100 });
        await expect(pages.next()).rejects.toMatchObject({
          kind: "timeout",
          message: expect.stringMatching(
            /^the account source's query ran longer than ACCOUNT_SOURCE_TIMEOUT_MS and was cancelled \(Query inactivity timeout\)/,
          ),
        });
      } finally {
        await proxy.close();
      }
    });
  });
});

if (!reachable) {
  it.skip(`MariaDB at ${where} is not reachable: the MariaDB read-only tests were not run (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)`, () => {});
}
