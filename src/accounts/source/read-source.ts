// The account source: the integrator's own database, read by the driver its URL names.
import { AccountSourceError } from "./errors.js";
import { readStatementRefusal } from "./read-statement.js";
import type { SqlDialect } from "./sql-tokens.js";

/** ACCOUNT_SOURCE_*, as the run and the CLI use them. */
export interface AccountSourceSettings {
  url: string;
  query: string;
  timeoutMs: number;
  /** The largest share of the tracked ids a reconciliation may untrack (ACCOUNT_SOURCE_MAX_REMOVAL). */
  maxRemovalShare: number;
}

export interface SourceReadOptions {
  url: string;
  query: string;
  /** Statement timeout of the query, and the longest wait for the connection. */
  timeoutMs: number;
  /** Values per yielded page. */
  pageSize: number;
}

/** The settings of the configured source, or undefined when ACCOUNT_SOURCE_URL is not set. */
export function accountSourceFromConfig(config: {
  accountSourceUrl: string | undefined;
  accountSourceQuery: string | undefined;
  accountSourceTimeoutMs: number;
  accountSourceMaxRemoval: number;
}): AccountSourceSettings | undefined {
  if (config.accountSourceUrl === undefined || config.accountSourceQuery === undefined) return undefined;
  return {
    url: config.accountSourceUrl,
    query: config.accountSourceQuery,
    timeoutMs: config.accountSourceTimeoutMs,
    maxRemovalShare: config.accountSourceMaxRemoval,
  };
}

/**
 * Rows of the source (its query's, or a file's), with the names of their columns: the account id
 * first, then any expected values (see expectations.ts). At least one page, even without rows.
 */
export interface SourcePage {
  columns: readonly string[];
  /** Cells as the driver gives them (text, numbers, booleans, NULL...). */
  rows: readonly (readonly unknown[])[];
}

/**
 * The query's rows, page by page, cells as the driver gives them: `classifySourceValue` tells ids
 * from the rest. Throws an AccountSourceError; at once, before any connection, when the query is not
 * one statement that only reads: the one place where both a run and `accounts source check` refuse it.
 */
export function readSourceRows(options: SourceReadOptions): AsyncGenerator<SourcePage> {
  const dialect = sourceDialect(options.url);
  const refusal = readStatementRefusal(options.query, dialect);
  if (refusal !== undefined) {
    throw new AccountSourceError(
      "not_read_only",
      `ACCOUNT_SOURCE_QUERY was refused before it reached the database: ${refusal}; it must be one statement that only reads (SELECT, WITH … SELECT, TABLE or VALUES), such as SELECT id FROM customers`,
    );
  }
  return readWithDriver(dialect, options);
}

/** Each driver loads when a source of its kind is read: not in every command that has none. */
async function* readWithDriver(dialect: SqlDialect, options: SourceReadOptions): AsyncGenerator<SourcePage> {
  const read =
    dialect === "postgres"
      ? (await import("./read-postgres.js")).readPostgresSource
      : (await import("./read-mysql.js")).readMysqlSource;
  yield* read(options);
}

/** Which SQL the source's URL speaks: postgresql:// or postgres://, else mysql:// or mariadb://. */
export function sourceDialect(url: string): SqlDialect {
  return /^postgres(ql)?:/i.test(url) ? "postgres" : "mysql";
}
