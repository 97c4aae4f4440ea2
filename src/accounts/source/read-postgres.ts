// Reads the account source's rows from PostgreSQL, a page at a time (a cursor), in a read-only
// transaction with a statement timeout, on a connection of its own that is closed after.
import pg from "pg";
import Cursor from "pg-cursor";
import { sourceFailure } from "./errors.js";
import type { SourcePage, SourceReadOptions } from "./read-source.js";
import { checkedColumns } from "./rows.js";

const CODES = {
  timeout: ["57014"], // query_canceled: statement_timeout
  writes: ["25006"], // read_only_sql_transaction
  login: ["28P01", "28000", "3D000"],
};

export async function* readPostgresSource(options: SourceReadOptions): AsyncGenerator<SourcePage> {
  const { url, query, timeoutMs, pageSize } = options;
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    application_name: "plugchat-sync account source",
  });
  // An error after the query (the server going away while idle) must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    // The session's default too (default_transaction_read_only), not only this transaction's.
    await client.query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
    await client.query("BEGIN READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
    const cursor = client.query(new Cursor<unknown[]>(query, [], { rowMode: "array" }));
    const first = await readPage(cursor, pageSize);
    const columns = checkedColumns(first.columns);
    // The first page is yielded even without rows: it says the columns. Each next page is asked for
    // before the caller gets this one, so that the source's server and network work while it is written.
    for (let rows = first.rows; ; ) {
      const next = rows.length > 0 ? readPage(cursor, pageSize) : undefined;
      // Marked as handled now; a failure is rethrown below, where it is awaited.
      next?.catch(() => undefined);
      yield { columns, rows };
      rows = next === undefined ? [] : (await next).rows;
      if (rows.length === 0) break;
    }
    await cursor.close();
    await client.query("ROLLBACK");
  } catch (error) {
    throw sourceFailure(error, url, CODES);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The next rows of the cursor, and the names of its columns (known once the query has answered). */
function readPage(cursor: Cursor<unknown[]>, size: number): Promise<SourcePage> {
  return new Promise((resolve, reject) => {
    cursor.read(size, (error, rows, result) => {
      if (error) reject(error);
      else resolve({ columns: (result?.fields ?? []).map((field) => field.name), rows });
    });
  });
}
