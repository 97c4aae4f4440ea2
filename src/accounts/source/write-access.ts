// Whether the account source's user could write, for `accounts source check`'s warning: the query
// is checked and read in a read-only session, but only a user that may only read guarantees that
// nothing is written (a function of the integrator's own can write in ways no check can see).
import mysql from "mysql2/promise";
import pg from "pg";
import { truncate } from "../../lib/text.js";
import { writingGrant } from "./mysql-grants.js";
import { sourceDialect } from "./read-source.js";

/**
 * What lets the source's user write, such as "it is a superuser" or "it has INSERT on
 * public.customers"; undefined when it has none, or when that cannot be told (never throws).
 */
export async function sourceWriteAccess(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const access =
      sourceDialect(url) === "postgres"
        ? await postgresWriteAccess(url, timeoutMs)
        : await mysqlWriteAccess(url, timeoutMs);
    // Names of tables can hold anything, line breaks included: the warning is one line.
    return access === undefined ? undefined : truncate(access.replace(/[\s\p{Cc}]+/gu, " "), 160);
  } catch {
    return undefined;
  }
}

/** Superuser, writing server files, a writing privilege on a table, CREATE on a schema or the database. */
const POSTGRES_WRITE_ACCESS = `
SELECT COALESCE(
  (SELECT 'it is a superuser' FROM pg_roles WHERE rolname = current_user AND rolsuper),
  (SELECT 'it may write the server''s files (pg_write_server_files)' FROM pg_roles
    WHERE rolname = 'pg_write_server_files' AND pg_has_role(oid, 'MEMBER')),
  (SELECT 'it has ' || p.privilege || ' on ' || c.oid::regclass::text
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(privilege)
    WHERE c.relkind IN ('r', 'p', 'v', 'f')
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
      AND has_table_privilege(c.oid, p.privilege)
    LIMIT 1),
  (SELECT 'it has CREATE on schema ' || quote_ident(nspname) FROM pg_namespace
    WHERE nspname <> 'information_schema' AND nspname !~ '^pg_' AND has_schema_privilege(oid, 'CREATE')
    LIMIT 1),
  (SELECT 'it has CREATE on database ' || quote_ident(current_database())
    WHERE has_database_privilege(current_database(), 'CREATE'))
)`;

async function postgresWriteAccess(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    application_name: "plugchat-sync account source",
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const result = await client.query<unknown[]>({ text: POSTGRES_WRITE_ACCESS, rowMode: "array" });
    const access = result.rows[0]?.[0];
    return typeof access === "string" ? access : undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function mysqlWriteAccess(url: string, timeoutMs: number): Promise<string | undefined> {
  const connection = await mysql.createConnection({
    uri: url.replace(/^mariadb:/i, "mysql:"),
    connectTimeout: timeoutMs,
  });
  connection.on("error", () => undefined);
  try {
    // MariaDB lists the grants of the current role too.
    const [rows] = await connection.query({ sql: "SHOW GRANTS", rowsAsArray: true, timeout: timeoutMs });
    const grant = writingGrant((rows as unknown[][]).map((row) => String(row[0])));
    return grant === undefined ? undefined : `it has ${grant}`;
  } finally {
    connection.destroy();
  }
}
