// account_expectations: what the integrator's records expect of each account, refreshed from the
// account source (or an imported CSV) through a temporary table, set-based: a fixed number of
// statements whatever the number of accounts.
import type { Db } from "./index.js";

/** Holds the expectations read in this transaction; dropped at its end. */
export async function createSourceExpectationsTable(db: Db): Promise<void> {
  await db.$executeRawUnsafe(
    `CREATE TEMPORARY TABLE plugchat_source_expectations (
       account_id text NOT NULL, field text NOT NULL, expected_value text,
       PRIMARY KEY (account_id, field)) ON COMMIT DROP`,
  );
}

/** Adds expectations; an account and field already there keeps its first value (the first row wins). */
export async function insertSourceExpectations(
  db: Db,
  rows: { accountIds: string[]; fields: string[]; values: (string | null)[] },
): Promise<void> {
  if (rows.accountIds.length === 0) return;
  await db.$executeRaw`
    INSERT INTO plugchat_source_expectations (account_id, field, expected_value)
    SELECT * FROM unnest(${rows.accountIds}::text[], ${rows.fields}::text[], ${rows.values}::text[])
    ON CONFLICT (account_id, field) DO NOTHING`;
}

export interface ExpectationChanges {
  /** Expectations new or with a new value. */
  set: number;
  /** Expectations no longer given. */
  removed: number;
}

/**
 * Makes account_expectations equal to the temporary table (`replace`), or adds and updates the table's
 * without removing others (`merge`, an import of some accounts). Rows whose value is unchanged are
 * not rewritten. Expectations of ids with no account row are left out.
 */
export async function applySourceExpectations(
  db: Db,
  mode: "replace" | "merge",
): Promise<ExpectationChanges> {
  const removed =
    mode === "merge"
      ? 0
      : await db.$executeRaw`
          DELETE FROM account_expectations e
           WHERE NOT EXISTS (SELECT 1 FROM plugchat_source_expectations s
                              WHERE s.account_id = e.account_id AND s.field = e.field)`;
  const set = await db.$executeRaw`
    INSERT INTO account_expectations AS e (account_id, field, expected_value)
    SELECT s.account_id, s.field, s.expected_value
      FROM plugchat_source_expectations s JOIN accounts a ON a.id = s.account_id
     ORDER BY s.account_id, s.field
    ON CONFLICT (account_id, field) DO UPDATE
       SET expected_value = EXCLUDED.expected_value, updated_at = now()
     WHERE e.expected_value IS DISTINCT FROM EXCLUDED.expected_value`;
  return { set, removed };
}

/** What applying the temporary table would change, counted in accounts (for `accounts import`). */
export interface ExpectedAccountCounts {
  /** Accounts given expected values. */
  accounts: number;
  /** Of them, those with an expected value new, changed or (replace) no longer given. */
  changing: number;
  /** Other accounts whose expected values would all be removed (replace; 0 in merge). */
  cleared: number;
}

/** Counts, before `applySourceExpectations(db, mode)`, the accounts it changes. */
export async function countExpectedAccounts(
  db: Db,
  mode: "replace" | "merge",
): Promise<ExpectedAccountCounts> {
  const replace = mode === "replace";
  const [row] = await db.$queryRaw<ExpectedAccountCounts[]>`
    WITH given AS (
      SELECT s.account_id,
             bool_or(e.account_id IS NULL OR e.expected_value IS DISTINCT FROM s.expected_value) AS differs
        FROM plugchat_source_expectations s
        LEFT JOIN account_expectations e ON e.account_id = s.account_id AND e.field = s.field
       GROUP BY s.account_id)
    SELECT (SELECT count(*) FROM given)::int AS accounts,
           (SELECT count(*) FROM given g
             WHERE g.differs
                OR (${replace} AND EXISTS (
                      SELECT 1 FROM account_expectations e
                       WHERE e.account_id = g.account_id
                         AND NOT EXISTS (SELECT 1 FROM plugchat_source_expectations s
                                          WHERE s.account_id = e.account_id AND s.field = e.field))))::int
             AS changing,
           (CASE WHEN ${replace}
                 THEN (SELECT count(DISTINCT e.account_id) FROM account_expectations e
                        WHERE NOT EXISTS (SELECT 1 FROM given g WHERE g.account_id = e.account_id))
                 ELSE 0 END)::int AS cleared`;
  return row ?? { accounts: 0, changing: 0, cleared: 0 };
}
