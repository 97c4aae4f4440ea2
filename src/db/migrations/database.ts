import pg from "pg";
import { databaseLocation, describeDatabaseError, parseDatabaseUrl } from "../connection-errors.js";
import { CannotCreateDatabaseError } from "./errors.js";

/** How long to wait for a connection before giving up with a clear error. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A connected `pg` client, or the raw connection error. A timeout is reported as an error with code
 * ETIMEDOUT (pg itself only says "Connection terminated unexpectedly").
 */
async function openClient(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // Without a listener, an idle client whose server goes away would crash the process.
  client.on("error", () => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
  }, CONNECT_TIMEOUT_MS - 50);
  try {
    await client.connect();
    return client;
  } catch (err) {
    if (!timedOut) throw err;
    throw Object.assign(new Error(`connection timed out after ${CONNECT_TIMEOUT_MS} ms`), {
      code: "ETIMEDOUT",
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** openClient, with connection failures turned into one-line user-facing errors. */
export async function connect(databaseUrl: string): Promise<pg.Client> {
  try {
    return await openClient(databaseUrl);
  } catch (err) {
    throw describeDatabaseError(err, databaseUrl) ?? err;
  }
}

/**
 * Creates the database named in `databaseUrl` if it does not exist, through the maintenance database
 * `postgres` on the same server with the same credentials. Safe against another process creating it
 * at the same moment.
 */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const name = databaseName(databaseUrl);
  try {
    await (await openClient(databaseUrl)).end();
    return { created: false };
  } catch (err) {
    // Without a name in the URL, pg falls back to the user's name: nothing sensible to create.
    if (pgCode(err) !== "3D000" || name === "") throw describeDatabaseError(err, databaseUrl) ?? err;
  }

  const server = databaseLocation(withDatabase(databaseUrl, ""));
  const maintenanceUrl = withDatabase(databaseUrl, "postgres");
  let admin: pg.Client;
  try {
    admin = await openClient(maintenanceUrl);
  } catch (err) {
    const code = pgCode(err);
    if (code === "3D000" || code === "28000" || code === "42501") {
      const reason = `cannot connect to its "postgres" database: ${(err as Error).message}`;
      throw new CannotCreateDatabaseError(name, server, reason, { cause: err });
    }
    throw describeDatabaseError(err, maintenanceUrl) ?? err;
  }
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    return { created: true };
  } catch (err) {
    // 42P04 duplicate_database; 23505 when two CREATE DATABASE race on pg_database's unique index.
    const code = pgCode(err);
    if (code === "42P04" || code === "23505") return { created: false };
    if (code === "42501")
      throw new CannotCreateDatabaseError(name, server, (err as Error).message, { cause: err });
    throw err;
  } finally {
    await admin.end();
  }
}

/** The database name in a connection URL (decoded). */
export function databaseName(databaseUrl: string): string {
  return decodeURIComponent(parseDatabaseUrl(databaseUrl).pathname.replace(/^\//, ""));
}

/** The same URL pointing at another database of the same server, without Prisma's `schema` parameter. */
function withDatabase(databaseUrl: string, database: string): string {
  const url = parseDatabaseUrl(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  url.searchParams.delete("schema");
  return url.toString();
}

/** The schema Prisma works in: the URL's `schema` parameter, or `public`. */
export function prismaSchemaName(databaseUrl: string): { name: string; explicit: boolean } {
  const schema = parseDatabaseUrl(databaseUrl).searchParams.get("schema");
  return schema ? { name: schema, explicit: true } : { name: "public", explicit: false };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
