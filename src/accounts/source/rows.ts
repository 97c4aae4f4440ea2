// What the account source's query must give back: rows of at least one column (the account id first).
import { AccountSourceError } from "./errors.js";

function notRows(): AccountSourceError {
  return new AccountSourceError(
    "no_rows",
    "the account source's query is not a query that returns rows (it returned no result set, or no column): ACCOUNT_SOURCE_QUERY must be one SELECT whose first column is the account id",
  );
}

/**
 * One row as the driver gives it (an array here). A statement that returns no result set (MySQL's OK
 * packet after a DDL or DML statement) is refused, never counted as a NULL.
 */
export function checkedRow(row: unknown): readonly unknown[] {
  if (Array.isArray(row) && row.length > 0) return row;
  throw notRows();
}

/** The query's column names; none (PostgreSQL's `SELECT FROM t`, a statement without a result) is refused. */
export function checkedColumns(columns: readonly string[]): readonly string[] {
  if (columns.length > 0) return columns;
  throw notRows();
}
