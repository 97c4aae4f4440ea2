// account_expectations: what the integrator's records expect of each account, refreshed from the
// account source (or an imported CSV) through a temporary table, set-based: a fixed number of
// statements whatever the number of accounts.
import type { Db } from "./index.js";

/**
 * Holds the expectations read in this transaction, in the order read (`seq`); dropped at its end. No
 * key while it is loaded: keeping one up to date cost 1 s of the 1.5 s it took to load 400,000 values.
 */
export async function createSourceExpectationsTable(db: Db): Promise<void> {
  await db.$executeRawUnsafe(
    `CREATE TEMPORARY TABLE plugchat_source_expectations (
       seq bigint GENERATED ALWAYS AS IDENTITY, account_id text NOT NULL, field text NOT NULL,
       expected_value text) ON COMMIT DROP`,
  );
}

/** Adds expectations, after those read before them (see settleSourceExpectations for repeats). */
export async function insertSourceExpectations(
  db: Db,
  rows: { accountIds: string[]; fields: string[]; values: (string | null)[] },
): Promise<void> {
  if (rows.accountIds.length === 0) return;
  await db.$executeRaw`
    INSERT INTO plugchat_source_expectations (account_id, field, expected_value)
    SELECT * FROM unnest(${rows.accountIds}::text[], ${rows.fields}::text[], ${rows.values}::text[])`;
}

/**
 * Once every expectation is loaded: where an account and field came more than once (an id listed
 * twice), the first one read is kept; then the table's statistics, for the joins that use it. Without
 * `repeatedIds` no account and field can repeat (each row gives a field once) and none is looked for.
 */
export async function settleSourceExpectations(db: Db, repeatedIds: boolean): Promise<void> {
  if (repeatedIds) {
    await db.$executeRaw`
      DELETE FROM plugchat_source_expectations later USING plugchat_source_expectations first
       WHERE later.account_id = first.account_id AND later.field = first.field AND later.seq > first.seq`;
  }
  await db.$executeRawUnsafe("ANALYZE plugchat_source_expectations");
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
  // Only what differs goes through the upsert: a join finds it far quicker than the upsert's check of
  // each row (400,000 unchanged values: 0.2 s against 0.8).
  const set = await db.$executeRaw`
    INSERT INTO account_expectations AS e (account_id, field, expected_value)
    SELECT s.account_id, s.field, s.expected_value
      FROM plugchat_source_expectations s JOIN accounts a ON a.id = s.account_id
      LEFT JOIN account_expectations stored ON stored.account_id = s.account_id AND stored.field = s.field
     WHERE stored.account_id IS NULL OR stored.expected_value IS DISTINCT FROM s.expected_value
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
