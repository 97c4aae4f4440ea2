import { ExitCode, UserFacingError } from "../errors.js";

/** A failure to connect to PostgreSQL, told in one line that names the server but never the password. */
class DatabaseConnectionError extends UserFacingError {}

/** The connection URL cannot be used at all. */
class InvalidDatabaseUrlError extends UserFacingError {
  constructor() {
    super(
      "DATABASE_URL is not a valid PostgreSQL URL: write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE " +
        "(percent-encode special characters in the password)",
      { exitCode: ExitCode.badConfig },
    );
  }
}

/** Parses a PostgreSQL connection URL, or throws InvalidDatabaseUrlError (whose message holds no part of it). */
export function parseDatabaseUrl(databaseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(databaseUrl);
    decodeURIComponent(url.pathname);
  } catch {
    throw new InvalidDatabaseUrlError();
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") throw new InvalidDatabaseUrlError();
  return url;
}

/**
 * Where a connection URL points, for messages: `host:port/dbname`, never the user or password.
 * Falls back to a neutral phrase when the URL cannot be parsed (the raw string may hold a password).
 */
export function databaseLocation(databaseUrl: string): string {
  const target = parseTarget(databaseUrl);
  if (!target) return "the server in DATABASE_URL";
  return target.database === "" ? target.hostPort : `${target.hostPort}/${target.database}`;
}

/**
 * Which database a message is about: DATABASE_URL, or the embedded server that runs when it is unset.
 * The message names the one the user can act on.
 */
export interface DatabaseTarget {
  url: string;
  /** The embedded server's data directory, when this is the embedded server (DATABASE_URL unset). */
  embeddedDataDir?: string;
}

/**
 * Turns a failure to connect to PostgreSQL into a one-line user-facing error, or returns undefined
 * when `err` is something else (a failed query, a bug...). Understands errors from `pg` (network
 * errors and the server's SQLSTATE codes), the same errors wrapped in `cause`, and Prisma Client
 * errors that carry the driver adapter's description (`meta.driverAdapterError.cause`).
 * A UserFacingError is returned as it is. A bare URL is DATABASE_URL's.
 */
export function describeDatabaseError(
  err: unknown,
  target: string | DatabaseTarget,
): UserFacingError | undefined {
  if (err instanceof UserFacingError) return err;
  const failure = findConnectionFailure(err);
  if (!failure) return undefined;
  const place = placeOf(typeof target === "string" ? { url: target } : target);
  const unreachable = UNREACHABLE[failure.code]?.(failure.detail, place);
  if (!unreachable) return refusal(failure, place, err);
  if (place.embeddedDataDir !== undefined) {
    return new DatabaseConnectionError(
      `Cannot reach the embedded PostgreSQL at ${place.server} (${unreachable.reason}): it has stopped; a worker restarts it within seconds, and any command starts it again (\`plugchat-sync db status\` shows it; data in ${place.embeddedDataDir}, DATABASE_URL unset)`,
      { cause: err },
    );
  }
  return new DatabaseConnectionError(
    `Cannot reach PostgreSQL at ${place.server} (${unreachable.reason}): ${unreachable.advice ?? CHECK_SERVER}`,
    { cause: err, exitCode: unreachable.exitCode },
  );
}

/** The failures that mean no server is there, or one that is going away: worth one more try. */
const SERVER_GONE = new Set(["ECONNREFUSED", "closed", "57P01", "57P02", "57P03"]);

/**
 * Whether `err` (or the error it wraps) says that the server is not there or is going away (refused,
 * connection closed, shutting down, crashed, starting up), as opposed to a refused login, a bad URL
 * or a failed query.
 */
export function isServerGone(err: unknown): boolean {
  const failure = findConnectionFailure(err);
  return failure !== undefined && SERVER_GONE.has(failure.code);
}

/** How messages name the server (`host:port`) and its database (`host:port/dbname`). */
interface Place {
  server: string;
  serverAndDatabase: string;
  database: string;
  /** Set for the embedded server (DATABASE_URL unset). */
  embeddedDataDir: string | undefined;
  /** What the user changes to fix a login or a database name: DATABASE_URL or the embedded server's. */
  setting: string;
}

function placeOf(target: DatabaseTarget): Place {
  const setting =
    target.embeddedDataDir === undefined
      ? "DATABASE_URL"
      : `the embedded server (data in ${target.embeddedDataDir}; DATABASE_URL unset)`;
  const where = parseTarget(target.url);
  if (!where) {
    const server = "the server in DATABASE_URL";
    return { server, serverAndDatabase: server, database: "", embeddedDataDir: undefined, setting };
  }
  return {
    server: where.hostPort,
    serverAndDatabase: databaseLocation(target.url),
    database: where.database,
    embeddedDataDir: target.embeddedDataDir,
    setting,
  };
}

const CHECK_SERVER = "check DATABASE_URL and that the server is running";

function hostNotFound() {
  return { reason: "host name not found", advice: "check the host in DATABASE_URL" };
}

function noRoute() {
  return { reason: "no route to the host", advice: "check the host in DATABASE_URL and the network" };
}

interface Unreachable {
  reason: string;
  advice?: string;
  /** Default 1 (worth trying again); 2 for a URL that can never work as written. */
  exitCode?: number;
}

/** The failures where the server could not be reached or would not take a connection now. */
const UNREACHABLE: Record<string, (detail: string | undefined, place: Place) => Unreachable> = {
  ECONNREFUSED: () => ({ reason: "connection refused" }),
  ENOTFOUND: hostNotFound,
  EAI_AGAIN: hostNotFound,
  ETIMEDOUT: () => ({
    reason: "timed out",
    advice: "check DATABASE_URL, that the server is running and that no firewall drops the connection",
  }),
  EHOSTUNREACH: noRoute,
  ENETUNREACH: noRoute,
  unreachable: () => ({ reason: "not reachable" }),
  closed: () => ({
    reason: "the connection was closed unexpectedly",
    advice: "check DATABASE_URL (including its SSL settings) and that the server is running",
  }),
  tls: (detail) => ({
    reason: `TLS failed${detail ? `: ${detail}` : ""}`,
    advice: "check the sslmode in DATABASE_URL and the server's SSL setup",
  }),
  socket: (detail) => ({
    reason: `no server socket at ${detail ?? "that path"}`,
    advice:
      "check the host in DATABASE_URL (a ?host= that starts with / is the directory of the server's Unix socket) and that the server is running",
  }),
  file: (detail) => ({
    reason: `a file it names cannot be read: ${detail ?? "no such file"}`,
    advice: "check the sslcert, sslkey and sslrootcert paths in DATABASE_URL",
    exitCode: ExitCode.badConfig,
  }),
  "57P02": () => ({
    reason: "the server crashed and ended the connection",
    advice: "check that the server in DATABASE_URL is running, then run the command again",
  }),
  "57P01": () => ({
    reason: "the server shut down or ended the connection",
    advice: "check that the server in DATABASE_URL is running, then run the command again",
  }),
  "57P03": (detail) => ({
    reason: `not accepting connections: ${detail ?? "the server is starting up or shutting down"}`,
    advice: "try again in a moment",
  }),
  "53300": () => ({
    reason: "too many connections",
    advice: "try again later, or lower the connection use of other clients or raise max_connections",
  }),
};

/** The failures where the server answered and refused: the login, the database name, a full disk. */
function refusal(
  failure: ConnectionFailure,
  place: Place,
  err: unknown,
): DatabaseConnectionError | undefined {
  const { server, database } = place;
  switch (failure.code) {
    case "28P01":
    case "28000":
      return new DatabaseConnectionError(
        `PostgreSQL at ${place.serverAndDatabase} refused the login (${failure.detail ?? "authentication failed"}): ${place.embeddedDataDir === undefined ? "check the user and password in DATABASE_URL and the server's pg_hba.conf" : `the password file of ${place.setting} does not match its server: stop every plugchat-sync command and run \`plugchat-sync db stop\`, then try again`}`,
        { exitCode: ExitCode.badConfig, cause: err },
      );
    case "3D000":
      return new DatabaseConnectionError(
        `PostgreSQL at ${server} has no database ${database === "" ? "of that name" : `"${database}"`}: run \`plugchat-sync migrate\` to create it, or fix the database name in ${place.setting}`,
        { exitCode: ExitCode.badConfig, cause: err },
      );
    case "42P01":
      // A reporting table that is not there: a database never migrated, or ?schema= naming another schema.
      return new DatabaseConnectionError(
        `PostgreSQL at ${place.serverAndDatabase} has no table ${failure.detail ?? "of the reporting database"}: run \`plugchat-sync migrate\` with the same ${place.setting === "DATABASE_URL" ? "DATABASE_URL" : "settings"} to create the tables, or fix the schema (?schema=) in DATABASE_URL`,
        { exitCode: ExitCode.badConfig, cause: err },
      );
    case "53100":
      // disk_full: not a connection failure, but no retry or other server helps either.
      return new DatabaseConnectionError(
        `PostgreSQL at ${server} has no disk space left (${failure.detail ?? "disk full"}): free space on the disk of its data directory (for the embedded server, PLUGCHAT_SYNC_DATA_DIR's), then run the command again`,
        { cause: err },
      );
    default:
      return undefined;
  }
}

interface ConnectionFailure {
  /** A network error code, a SQLSTATE, or one of "unreachable", "closed", "tls", "socket", "file". */
  code: string;
  /** The server's own words, when they help and hold no secret (it never echoes passwords). */
  detail?: string;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
const SQLSTATES = new Set(["28P01", "28000", "3D000", "57P01", "57P02", "57P03", "53300", "53100"]);
/** undefined_table: told apart from the others, its detail is the table's name. */
const UNDEFINED_TABLE = "42P01";
/**
 * node-postgres's own words for a connection that is gone (the server died, or the connection was
 * lost before or during a query), with no code of their own.
 */
const PG_CLIENT_MESSAGES: Readonly<Record<string, string>> = {
  "Connection terminated unexpectedly": "closed",
  "Connection terminated": "closed",
  "Client has encountered a connection error and is not queryable": "closed",
  "Client was closed and is not queryable": "closed",
  "timeout expired": "ETIMEDOUT",
  "Connection terminated due to connection timeout": "ETIMEDOUT",
  "timeout exceeded when trying to connect": "ETIMEDOUT",
  "Query read timeout": "ETIMEDOUT",
};
const TLS_MESSAGES = new Set([
  "The server does not support SSL connections",
  "There was an error establishing an SSL connection",
]);
/** `kind` values of Prisma's driver adapter errors that mean the connection failed. */
const ADAPTER_KINDS: Record<string, string> = {
  DatabaseNotReachable: "unreachable",
  ConnectionClosed: "closed",
  SocketTimeout: "ETIMEDOUT",
  TlsConnectionError: "tls",
};

function findConnectionFailure(err: unknown, depth = 0): ConnectionFailure | undefined {
  if (depth > 5 || typeof err !== "object" || err === null) return undefined;
  const e = err as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
    meta?: { driverAdapterError?: { cause?: unknown } };
  };
  const message = typeof e.message === "string" ? e.message : undefined;

  if (typeof e.code === "string") {
    if (NETWORK_CODES.has(e.code)) return { code: e.code };
    if (e.code === "ECONNRESET") return { code: "closed" };
    if (SQLSTATES.has(e.code)) return { code: e.code, ...(message ? { detail: message } : {}) };
  }
  const local = typeof e.code === "string" && message ? localFileFailure(e.code, message) : undefined;
  if (local) return local;
  if (e.code === UNDEFINED_TABLE && message) return { code: UNDEFINED_TABLE, detail: tableIn(message) };
  if (message && PG_CLIENT_MESSAGES[message]) return { code: PG_CLIENT_MESSAGES[message] };
  if (message && TLS_MESSAGES.has(message)) return { code: "tls", detail: message };

  // Prisma Client: meta.driverAdapterError.cause = { kind, originalCode?, originalMessage?, reason? }
  const adapterCause = e.meta?.driverAdapterError?.cause as
    | { kind?: unknown; originalCode?: unknown; originalMessage?: unknown; reason?: unknown }
    | undefined;
  if (adapterCause) {
    if (typeof adapterCause.originalCode === "string" && SQLSTATES.has(adapterCause.originalCode)) {
      const detail =
        typeof adapterCause.originalMessage === "string" ? adapterCause.originalMessage : undefined;
      return { code: adapterCause.originalCode, ...(detail ? { detail } : {}) };
    }
    if (adapterCause.kind === "TableDoesNotExist") {
      const table = (adapterCause as { table?: unknown }).table;
      return { code: UNDEFINED_TABLE, ...(typeof table === "string" ? { detail: `"${table}"` } : {}) };
    }
    const mapped = typeof adapterCause.kind === "string" ? ADAPTER_KINDS[adapterCause.kind] : undefined;
    if (mapped) {
      const detail = typeof adapterCause.reason === "string" ? adapterCause.reason : undefined;
      return { code: mapped, ...(detail ? { detail } : {}) };
    }
  }

  // Node's "happy eyeballs" connect reports every address it tried in an AggregateError.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = findConnectionFailure(inner, depth + 1);
      if (found) return found;
    }
  }
  return findConnectionFailure(e.cause, depth + 1);
}

/**
 * A file the connection needs that is not there: the Unix socket of `?host=/dir` (`connect ENOENT
 * /dir/.s.PGSQL.5432`), or a certificate or key named by `sslcert=`/`sslkey=`/`sslrootcert=` (`ENOENT:
 * no such file or directory, open '/path'`). Prisma keeps only the code and this message.
 */
function localFileFailure(code: string, message: string): ConnectionFailure | undefined {
  if (code !== "ENOENT" && code !== "EACCES") return undefined;
  const socket = /connect E[A-Z]+ (\/\S+)/.exec(message);
  if (socket) return { code: "socket", detail: socket[1] };
  const file = /open '([^']+)'/.exec(message);
  const why = code === "EACCES" ? "permission denied" : "no such file";
  if (file) return { code: "file", detail: `${file[1]} (${why})` };
  return undefined;
}

/** The quoted relation of PostgreSQL's `relation "x.y" does not exist`. */
function tableIn(message: string): string | undefined {
  return /relation ("[^"]+")/.exec(message)?.[1];
}

function parseTarget(databaseUrl: string): { hostPort: string; database: string } | undefined {
  let url: URL;
  try {
    url = parseDatabaseUrl(databaseUrl);
  } catch {
    return undefined;
  }
  // `?host=` (e.g. a Unix socket directory) overrides the host part, as in libpq and pg.
  const host = url.searchParams.get("host") ?? (url.hostname === "" ? "localhost" : url.hostname);
  const port = url.searchParams.get("port") ?? (url.port === "" ? "5432" : url.port);
  return { hostPort: `${host}:${port}`, database: decodeURIComponent(url.pathname.replace(/^\//, "")) };
}
