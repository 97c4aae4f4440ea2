// account_expectations: what the integrator's records expect of each account, refreshed from the
// account source (or an imported CSV) through a temporary table, set-based: a fixed number of
// statements whatever the number of accounts.
import { DIGEST_LENGTH, DIGEST_PREFIX_CHARS } from "../../accounts/source/stored-digests.js";
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "./index.js";

/** One account's expected values as loaded: a JSON object of field to value, and its digest. */
export interface LoadedExpectations {
  accountId: string;
  /** `{"exists":"true","name":"Acme"}`: any key order. */
  values: string;
  /** expectationsDigest(accountId, values) in base64url: what account_expectation_digests keeps. */
  digest: string;
}

/**
 * Holds the expectations read in this transaction, one row per account loaded (an id listed twice is
 * loaded once, with its first row's values); dropped at its end. A run's reconciliation loads only the
 * accounts whose digest differs from the stored one (see stored-digests.ts): an unchanged
 * source loads none. No key: the statements below read it whole.
 */
export async function createSourceExpectationsTable(db: Db): Promise<void> {
  await db.$executeRawUnsafe(
    `CREATE TEMPORARY TABLE plugchat_source_expectations (
       account_id text NOT NULL, expected text NOT NULL, digest text NOT NULL)
     ON COMMIT DROP`,
  );
}

/**
 * Gives the table statistics, once loaded: without them PostgreSQL planned applySourceExpectations for
 * a few rows, and with 100,000 loaded (a run after the digests were lost) it ran for 138 s; with them
 * the whole reconciliation takes about 6 s. Next to nothing when the table is empty.
 */
export async function analyzeSourceExpectations(db: Db): Promise<void> {
  await db.$executeRawUnsafe("ANALYZE plugchat_source_expectations");
}

/**
 * Adds one page's ids to plugchat_source_ids (as source.insertSourceIds), and the expected values of
 * `accounts` to plugchat_source_expectations, except those of ids an earlier page listed: their first
 * row's stand. Returns how many ids were new to the ids' table. The values are sent as one JSON text
 * (one parameter, not three arrays).
 */
export async function insertSourceIdsWithExpectations(
  db: Db,
  ids: readonly string[],
  accounts: readonly LoadedExpectations[],
): Promise<number> {
  const [row] = await db.$queryRaw<{ inserted: number }[]>`
    WITH inserted AS (
      INSERT INTO plugchat_source_ids (id) SELECT unnest(${[...ids]}::text[])
      ON CONFLICT (id) DO NOTHING
      RETURNING id),
    -- Runs though nothing reads it: a data-modifying WITH always runs to completion.
    loaded AS (
      INSERT INTO plugchat_source_expectations (account_id, expected, digest)
      SELECT r."accountId", r.values, r.digest
        FROM json_to_recordset(${JSON.stringify(accounts)}::json)
             AS r("accountId" text, values text, digest text)
        JOIN inserted i ON i.id = r."accountId")
    SELECT count(*)::int AS inserted FROM inserted`;
  return row?.inserted ?? 0;
}

/**
 * The first DIGEST_PREFIX_CHARS characters of every stored digest, concatenated, in no order: one text
 * of 1.2 MB per 100,000 accounts, read as StoredDigests. A digest not of the length this process
 * writes (a hand edit) is left out: its account is compared value by value.
 */
export async function readStoredDigestPrefixes(db: Db): Promise<string> {
  const [row] = await db.$queryRaw<{ prefixes: string }[]>`
    SELECT coalesce(string_agg(left(digest, ${DIGEST_PREFIX_CHARS}), ''), '') AS prefixes
      FROM account_expectation_digests
     WHERE length(digest) = ${DIGEST_LENGTH}`;
  return row?.prefixes ?? "";
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
 * The accounts whose stored expectations may change. `replace`: those loaded whose digest is not the
 * stored one (an account whose stored values a digest does not vouch for is compared value by value),
 * and those with stored expectations that the source no longer expects anything of: not listed, or
 * every account when its rows have no expected-value column. `merge`: every account loaded.
 */
function changed(mode: "replace" | "merge", rowsExpectValues: boolean): Prisma.Sql {
  if (mode === "merge") return Prisma.sql`SELECT account_id FROM plugchat_source_expectations`;
  const expectingNothing = rowsExpectValues
    ? Prisma.sql`
      SELECT a.id FROM accounts a
       WHERE NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id)
         AND EXISTS (SELECT 1 FROM account_expectations e WHERE e.account_id = a.id)`
    : Prisma.sql`SELECT DISTINCT account_id FROM account_expectations`;
  return Prisma.sql`
    SELECT loaded.account_id FROM plugchat_source_expectations loaded
     WHERE NOT EXISTS (SELECT 1 FROM account_expectation_digests d
                        WHERE d.account_id = loaded.account_id AND d.digest = loaded.digest)
    UNION ALL ${expectingNothing}`;
}

export interface ExpectationChanges {
  /** Expectations new or with a new value. */
  set: number;
  /** Expectations no longer given. */
  removed: number;
}

/**
 * Makes account_expectations equal to the temporary table (`replace`), or adds and updates the table's
 * without removing others (`merge`, an import of some accounts). Only the accounts whose values may
 * change are compared value by value (see `changed`), and only what differs is written. `replace` then
 * records the digests of the values it leaves stored: the write itself made the triggers forget those
 * of the accounts it touched, and a merge leaves them forgotten.
 */
export async function applySourceExpectations(
  db: Db,
  mode: "replace" | "merge",
  { rowsExpectValues }: { rowsExpectValues: boolean },
): Promise<ExpectationChanges> {
  const replace = mode === "replace";
  // The planner takes json_each_text for 100 rows per account and prices this statement in millions:
  // PostgreSQL's JIT then spent 0.32 s compiling it, for a statement that runs in 0.28 s without.
  await db.$executeRawUnsafe("SET LOCAL jit = off");
  const [row] = await db.$queryRaw<ExpectationChanges[]>`
    WITH changed AS (${changed(mode, rowsExpectValues)}),
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
  if (replace) await recordExpectationDigests(db);
  return row ?? { set: 0, removed: 0 };
}

/** After a `replace`: each loaded account's stored values are its loaded ones, and so is its digest. */
async function recordExpectationDigests(db: Db): Promise<void> {
  await db.$executeRaw`
    INSERT INTO account_expectation_digests AS d (account_id, digest)
    SELECT l.account_id, l.digest FROM plugchat_source_expectations l JOIN accounts a ON a.id = l.account_id
     ORDER BY l.account_id
    ON CONFLICT (account_id) DO UPDATE SET digest = EXCLUDED.digest WHERE d.digest <> EXCLUDED.digest`;
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
