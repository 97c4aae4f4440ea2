// Reads of the account_mismatches view for people (`mismatches`, the demo, the status page) and the
// row shapes that the mismatch statements share. Apart from src/db/sql/mismatches.ts, which composes
// its statements with Prisma's helpers: these run on one plain connection as well, so `mismatches`
// loads no Prisma client.
import type { Reader } from "./index.js";

export interface MismatchChange {
  accountId: string;
  name: string | null;
  field: string;
  expected: string | null;
  actual: string | null;
}

export interface RawChange {
  account_id: string;
  name: string | null;
  field: string;
  expected: string | null;
  actual: string | null;
}

export function toChange(row: RawChange): MismatchChange {
  return {
    accountId: row.account_id,
    name: row.name,
    field: row.field,
    expected: row.expected,
    actual: row.actual,
  };
}

/** One row of the account_mismatches view. */
export interface Mismatch extends MismatchChange {
  since: Date;
  runId: number;
}

/** The open mismatches, by account and field, optionally of one field or one account. */
export async function listMismatches(
  db: Reader,
  filter: { field?: string | undefined; accountId?: string | undefined; limit?: number | undefined } = {},
): Promise<Mismatch[]> {
  const rows = await db.$queryRaw<(RawChange & { since: Date; run_id: number })[]>`
    SELECT account_id, name, field, expected, actual, since, run_id
      FROM account_mismatches
     WHERE (${filter.field ?? null}::text IS NULL OR field = ${filter.field ?? null}::text)
       AND (${filter.accountId ?? null}::text IS NULL OR account_id = ${filter.accountId ?? null}::text)
     ORDER BY account_id, field
     LIMIT ${filter.limit ?? null}::int`;
  return rows.map((row) => ({ ...toChange(row), since: row.since, runId: row.run_id }));
}

/**
 * Tracked accounts with expectations whose last fetch does not tell their values (never synced, or
 * failing): unverified, so never counted as mismatches.
 */
export async function countUnverifiedAccounts(db: Reader): Promise<number> {
  const [row] = await db.$queryRaw<{ unverified: number }[]>`
    SELECT count(*)::int AS unverified FROM accounts a
     WHERE a.tracked AND a.last_status IN ('pending', 'failed')
       AND EXISTS (SELECT 1 FROM account_expectations e WHERE e.account_id = a.id)`;
  return row?.unverified ?? 0;
}
