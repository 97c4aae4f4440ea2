// Why the account source could not be read, in one line that never holds its password.
import { UserFacingError } from "../../errors.js";
import { redactUrlCredentials } from "../../lib/redact.js";
import { truncate } from "../../lib/text.js";

/**
 * What went wrong, for the run's row and the metrics: a small fixed set. `not_read_only`: the query
 * was refused before it reached the database; `no_rows`: it ran but returned no result set;
 * `columns`: a column after the id names no synced field.
 */
type SourceFailureKind =
  | "unreachable"
  | "timeout"
  | "writes"
  | "not_read_only"
  | "no_rows"
  | "query_failed"
  | "columns";

export class AccountSourceError extends UserFacingError {
  readonly kind: SourceFailureKind;

  constructor(kind: SourceFailureKind, message: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.kind = kind;
  }
}

/** The database kind and where it is, for messages: `PostgreSQL at host:port/db`, never the user or password. */
export function describeSourceLocation(sourceUrl: string): string {
  if (!URL.canParse(sourceUrl)) return "the database of ACCOUNT_SOURCE_URL";
  const url = new URL(sourceUrl);
  const kind = url.protocol.startsWith("postgres") ? "PostgreSQL" : "MySQL/MariaDB";
  const database = decodeSafely(url.pathname.replace(/^\//, ""));
  return `${kind} at ${url.host}${database === "" ? "" : `/${database}`}`;
}

/**
 * `text` without the source URL's credentials: URLs in it lose their user:password, and the
 * password itself (raw and percent-decoded) is cut wherever it appears, e.g. echoed by a driver.
 */
export function scrubSourceSecrets(text: string, sourceUrl: string): string {
  let scrubbed = redactUrlCredentials(text);
  if (URL.canParse(sourceUrl)) {
    const { password } = new URL(sourceUrl);
    for (const secret of new Set([password, decodeSafely(password)])) {
      if (secret.length > 0) scrubbed = scrubbed.split(secret).join("[redacted]");
    }
  }
  return scrubbed.replace(/\s+/g, " ").trim();
}

/**
 * Turns a driver's error into an AccountSourceError. `codes` tells which driver codes mean what;
 * network errors (ECONNREFUSED...) are recognised for both drivers.
 */
export function sourceFailure(
  error: unknown,
  sourceUrl: string,
  codes: {
    timeout: readonly (string | number)[];
    writes: readonly (string | number)[];
    login: readonly (string | number)[];
  },
): AccountSourceError {
  if (error instanceof AccountSourceError) return error;
  const where = describeSourceLocation(sourceUrl);
  const raw = error as { code?: unknown; errno?: unknown; message?: unknown } | null;
  const code = typeof raw?.code === "string" ? raw.code : undefined;
  const errno = typeof raw?.errno === "number" ? raw.errno : undefined;
  const matches = (list: readonly (string | number)[]) =>
    list.some((entry) => entry === code || entry === errno);
  const message = scrubSourceSecrets(
    error instanceof Error ? error.message || String(code ?? "error") : String(error),
    sourceUrl,
  );
  const short = truncate(message, 300);
  if (NETWORK_CODES.has(code ?? "") || /timeout expired|connection terminated/i.test(message)) {
    return new AccountSourceError(
      "unreachable",
      `the account source (${where}) is unreachable (${short}): check ACCOUNT_SOURCE_URL and that the server is running`,
      error,
    );
  }
  if (matches(codes.login)) {
    return new AccountSourceError(
      "unreachable",
      `the account source (${where}) refused the connection (${short}): check the user, password and database name in ACCOUNT_SOURCE_URL, and that this user may log in (not locked, its password not expired)`,
      error,
    );
  }
  if (matches(codes.timeout)) {
    return new AccountSourceError(
      "timeout",
      `the account source's query ran longer than ACCOUNT_SOURCE_TIMEOUT_MS and was cancelled (${short}): make it faster (an index on the id column?) or raise the timeout`,
      error,
    );
  }
  if (matches(codes.writes)) {
    return new AccountSourceError(
      "writes",
      `the account source's query tries to write, which its read-only transaction refuses (${short}): ACCOUNT_SOURCE_QUERY must only read, such as SELECT id FROM customers`,
      error,
    );
  }
  return new AccountSourceError(
    "query_failed",
    `the account source's query failed on ${where} (${short}): check ACCOUNT_SOURCE_QUERY`,
    error,
  );
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
]);

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
