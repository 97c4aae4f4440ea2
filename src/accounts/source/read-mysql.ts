// Reads the account source's rows from MySQL or MariaDB, streamed (the connection pauses
// while the consumer is busy), in a read-only transaction with a statement timeout, on a connection
// of its own that is closed after.
import mysql from "mysql2";
import type { Connection as PromiseConnection } from "mysql2/promise";
import { sourceFailure } from "./errors.js";
import type { SourcePage, SourceReadOptions } from "./read-source.js";
import { checkedColumns, checkedRow } from "./rows.js";

const CODES = {
  // MariaDB's max_statement_time, MySQL's max_execution_time; the driver's own timeout.
  timeout: ["ER_STATEMENT_TIMEOUT", 1969, "ER_QUERY_TIMEOUT", 3024, "PROTOCOL_SEQUENCE_TIMEOUT"],
  writes: ["ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION", 1792],
  // A refused login, by the error number: mysql2 names codes after MySQL's numbers, and MariaDB's locked
  // account (4151) has another name there. Also a user known only from other hosts (1130), one that
  // logs in by unix socket only (1698), a locked account (MySQL 3118, MariaDB 4151) and an expired
  // password (1820 at the first statement, 1862 at login): each the user's or password's doing, never
  // the query's.
  login: [1045, 1049, 1044, 1130, 1698, 3118, 4151, 1820, 1862],
};

export async function* readMysqlSource(options: SourceReadOptions): AsyncGenerator<SourcePage> {
  const { url, query, timeoutMs, pageSize } = options;
  let connection: mysql.Connection | undefined;
  try {
    connection = mysql.createConnection({
      uri: driverUri(url),
      connectTimeout: timeoutMs,
      rowsAsArray: true,
      // Ids in BIGINT or DECIMAL columns stay exact, as text.
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      dateStrings: true,
      // One statement only: `SELECT 1; DELETE ...` is refused by the server as a syntax error.
      multipleStatements: false,
    });
    await handshake(connection);
    // An error after the query (the server going away while idle) must not crash the process.
    connection.on("error", () => undefined);
    const session = connection.promise();
    await setStatementTimeout(session, timeoutMs);
    // Read-only beyond the transaction too: a statement that commits it (DDL) is still refused.
    await session.query("SET SESSION TRANSACTION READ ONLY");
    await session.query("START TRANSACTION READ ONLY");
    // The driver's timeout too, a second after the server's: it holds when the server's does not.
    const command = connection.query({ sql: query, timeout: timeoutMs + 1_000 });
    let columns: readonly string[] = [];
    command.on("fields", (fields: { name: string }[] | undefined) => {
      columns = (fields ?? []).map((field) => field.name);
    });
    let page: (readonly unknown[])[] = [];
    let yielded = false;
    for await (const row of command.stream({ highWaterMark: pageSize }) as AsyncIterable<unknown>) {
      page.push(checkedRow(row));
      if (page.length >= pageSize) {
        yield { columns, rows: page };
        yielded = true;
        page = [];
      }
    }
    // One page at least, even without rows: it says the columns.
    if (page.length > 0 || !yielded) yield { columns: checkedColumns(columns), rows: page };
    await session.query("ROLLBACK");
  } catch (error) {
    throw sourceFailure(error, url, CODES);
  } finally {
    connection?.end(() => undefined);
    connection?.destroy();
  }
}

/** MariaDB counts seconds, for every statement; MySQL milliseconds, for SELECTs only. */
async function setStatementTimeout(session: PromiseConnection, timeoutMs: number): Promise<void> {
  const [versionRows] = await session.query({ sql: "SELECT VERSION()", rowsAsArray: true });
  const version = String((versionRows as unknown[][])[0]?.[0] ?? "");
  if (/mariadb/i.test(version)) {
    await session.query(`SET SESSION max_statement_time = ${(timeoutMs / 1000).toFixed(3)}`);
  } else {
    await session.query(`SET SESSION max_execution_time = ${Math.floor(timeoutMs)}`);
  }
}

/** Settles once the connection is open; a refused login or an unreachable server rejects it. */
function handshake(connection: mysql.Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.once("connect", () => {
      connection.off("error", reject);
      resolve();
    });
    connection.once("error", reject);
  });
}

/**
 * The URL as mysql2 takes it. Its query parameters override the options above, so the one that
 * would let `COMMIT; DELETE ...` leave the read-only transaction is dropped: one statement only.
 */
function driverUri(url: string): string {
  const parsed = new URL(url.replace(/^mariadb:/i, "mysql:"));
  for (const name of [...parsed.searchParams.keys()]) {
    if (name.toLowerCase() === "multiplestatements") parsed.searchParams.delete(name);
  }
  return parsed.toString();
}
