// The one value a run reads from each row of the account source: its first column.
import { AccountSourceError } from "./errors.js";

/**
 * The first column of `row` (drivers give rows as arrays here). A statement that returns no result
 * set (MySQL's OK packet after a DDL or DML statement) or no columns (PostgreSQL's `SELECT FROM t`)
 * is refused, never counted as a NULL.
 */
export function firstColumn(row: unknown): unknown {
  if (Array.isArray(row) && row.length > 0) return row[0];
  throw new AccountSourceError(
    "no_rows",
    "the account source's query is not a query that returns rows (it returned no result set, or no column): ACCOUNT_SOURCE_QUERY must be one SELECT whose first column is the account id",
  );
}
