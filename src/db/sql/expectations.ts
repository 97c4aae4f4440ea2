// account_expectations: what the integrator's records expect of each account, refreshed from the
// account source (or an imported CSV) through a temporary table, set-based: a fixed number of
// statements whatever the number of accounts.
import type { AccountExpectations } from "../../accounts/source/expectations.js";
import { Prisma } from "../../generated/prisma/client.js";
import { EXISTS_FIELD, SYNCED_FIELDS } from "../../sync/drift.js";
import type { Db } from "./index.js";

/**
 * Holds the expectations read in this transaction, one row per account listed, in the order read
 * (`seq`); dropped at its end. `expected` is the account's values as text in the form PostgreSQL's
 * json_object_agg writes them (expectationsText), so that an account whose stored values are the same
 * is recognised by one comparison. No key while it is loaded: keeping one up to date cost 1 s of the
 * 1.5 s it took to load 400,000 values. One row per account, each page sent as one JSON text: passing
 * 500,000 values as three arrays cost more in the client than in PostgreSQL.
 */
export async function createSourceExpectationsTable(db: Db): Promise<void> {
  await db.$executeRawUnsafe(
    `CREATE TEMPORARY TABLE plugchat_source_expectations (
       seq bigint GENERATED ALWAYS AS IDENTITY, account_id text NOT NULL, expected text NOT NULL)
     ON COMMIT DROP`,
  );
}

/** Adds accounts' expectations, after those read before them (see settleSourceExpectations for repeats). */
export async function insertSourceExpectations(
  db: Db,
  accounts: readonly AccountExpectations[],
): Promise<void> {
  if (accounts.length === 0) return;
  const rows = accounts.map(({ accountId, expected }) => ({
    accountId,
    expected: expectationsText(expected),
  }));
  await db.$executeRaw`
    INSERT INTO plugchat_source_expectations (account_id, expected)
    SELECT r."accountId", r.expected
      FROM json_to_recordset(${JSON.stringify(rows)}::json) AS r("accountId" text, expected text)`;
}

/**
 * Each field an expectation can be on, in code point order, with the text json_object_agg writes
 * before its value.
 */
const FIELDS_IN_ORDER = [EXISTS_FIELD, ...SYNCED_FIELDS]
  .sort()
  .map((field) => [field, `${JSON.stringify(field)} : `] as const);

/**
 * An account's expected values as `json_object_agg(field, expected_value)` writes its stored ones when
 * they are read in key order: `{ "active" : "true", "name" : null }`, fields in code point order
 * (which, for these ASCII names, is also their order under the C, ICU and glibc collations). Were
 * PostgreSQL ever to write them otherwise, every account would only look changed, and be compared
 * value by value: slower, never wrong.
 */
export function expectationsText(expected: AccountExpectations["expected"]): string {
  const values: Partial<Record<string, string | null>> = expected;
  let text = "";
  for (const [field, key] of FIELDS_IN_ORDER) {
    const value = values[field];
    if (value !== undefined) text += `${text === "" ? "{ " : ", "}${key}${JSON.stringify(value)}`;
  }
  return `${text} }`;
}

/**
 * Once every expectation is loaded, when an id came more than once: keeps each account's first row
 * read. (The table gets no statistics: the planner sizes it from its pages, and the statements below
 * were planned alike without them; ANALYZE took 70 ms of 100,000 accounts.)
 */
export async function settleSourceExpectations(db: Db): Promise<void> {
  await db.$executeRaw`
    DELETE FROM plugchat_source_expectations later USING plugchat_source_expectations first
     WHERE later.account_id = first.account_id AND later.seq > first.seq`;
}

/**
 * The loaded expectations as (account_id, field, expected_value), one row per account and field, of
 * ids that have an account row (expectations of others are left out); with `onlyAccountsIn`, of the
 * accounts that query lists only, picked before their values are taken apart.
 */
function given(onlyAccountsIn: Prisma.Sql = Prisma.empty): Prisma.Sql {
  const only =
    onlyAccountsIn === Prisma.empty
      ? Prisma.empty
      : Prisma.sql`JOIN (${onlyAccountsIn}) picked ON picked.account_id = s.account_id`;
  return Prisma.sql`
    SELECT s.account_id, f.key AS field, f.value AS expected_value
      FROM plugchat_source_expectations s
      ${only}
      JOIN accounts a ON a.id = s.account_id
     CROSS JOIN LATERAL json_each_text(s.expected::json) f`;
}

/**
 * The accounts whose stored expectations may change: in `replace`, those whose loaded values differ
 * from their stored ones as a whole (an account loaded or stored only, included), one comparison per
 * account; in `merge`, every account loaded. The stored rows are read in key order (an index scan),
 * and PostgreSQL aggregates them in the order its subquery gives them: each account's fields in order.
 */
const CHANGED = {
  replace: Prisma.sql`
    SELECT coalesce(loaded.account_id, stored.account_id) AS account_id
      FROM plugchat_source_expectations loaded
      FULL JOIN (SELECT account_id, json_object_agg(field, expected_value)::text AS expected
                   FROM (SELECT account_id, field, expected_value FROM account_expectations
                          ORDER BY account_id, field) in_key_order
                  GROUP BY account_id) stored ON stored.account_id = loaded.account_id
     WHERE loaded.expected IS DISTINCT FROM stored.expected`,
  merge: Prisma.sql`SELECT account_id FROM plugchat_source_expectations`,
};

export interface ExpectationChanges {
  /** Expectations new or with a new value. */
  set: number;
  /** Expectations no longer given. */
  removed: number;
}

/**
 * Makes account_expectations equal to the temporary table (`replace`), or adds and updates the table's
 * without removing others (`merge`, an import of some accounts). One statement: only the accounts
 * whose values may change are compared value by value (CHANGED), and only what differs is written.
 */
export async function applySourceExpectations(
  db: Db,
  mode: "replace" | "merge",
): Promise<ExpectationChanges> {
  const replace = mode === "replace";
  // The planner takes json_each_text for 100 rows per account and prices this statement in millions:
  // PostgreSQL's JIT then spent 0.32 s compiling it, for a statement that runs in 0.28 s without.
  await db.$executeRawUnsafe("SET LOCAL jit = off");
  const [row] = await db.$queryRaw<ExpectationChanges[]>`
    WITH changed AS (${CHANGED[mode]}),
    given AS (${given(Prisma.sql`SELECT account_id FROM changed`)}),
    removed AS (
      DELETE FROM account_expectations e USING changed c
       WHERE ${replace} AND e.account_id = c.account_id
         AND NOT EXISTS (SELECT 1 FROM given g WHERE g.account_id = e.account_id AND g.field = e.field)
      RETURNING 1),
    set AS (
      INSERT INTO account_expectations AS e (account_id, field, expected_value)
      SELECT account_id, field, expected_value FROM given ORDER BY account_id, field
      ON CONFLICT (account_id, field) DO UPDATE
         SET expected_value = EXCLUDED.expected_value, updated_at = now()
       WHERE e.expected_value IS DISTINCT FROM EXCLUDED.expected_value
      RETURNING 1)
    SELECT (SELECT count(*) FROM set)::int AS set, (SELECT count(*) FROM removed)::int AS removed`;
  return row ?? { set: 0, removed: 0 };
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
        FROM (${given()}) s
        LEFT JOIN account_expectations e ON e.account_id = s.account_id AND e.field = s.field
       GROUP BY s.account_id)
    SELECT (SELECT count(*) FROM given)::int AS accounts,
           (SELECT count(*) FROM given g
             WHERE g.differs
                OR (${replace} AND EXISTS (
                      SELECT 1 FROM account_expectations e
                       WHERE e.account_id = g.account_id
                         AND NOT EXISTS (SELECT 1 FROM (${given()}) s
                                          WHERE s.account_id = e.account_id AND s.field = e.field))))::int
             AS changing,
           (CASE WHEN ${replace}
                 THEN (SELECT count(DISTINCT e.account_id) FROM account_expectations e
                        WHERE NOT EXISTS (SELECT 1 FROM given g WHERE g.account_id = e.account_id))
                 ELSE 0 END)::int AS cleared`;
  return row ?? { accounts: 0, changing: 0, cleared: 0 };
}
