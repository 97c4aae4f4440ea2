// Expected values written straight into account_expectations, as an account source would leave them:
// the next run (without a source, which would replace them) compares the accounts with them.
import type { PrismaClient } from "../../src/db/prisma.js";

export interface Expectation {
  accountId: string;
  field: string;
  /** Text as account_drift writes values ("true"/"false" for booleans); null expects Plugchat's null. */
  expected: string | null;
}

export async function setExpectations(prisma: PrismaClient, rows: readonly Expectation[]): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO account_expectations (account_id, field, expected_value)
    SELECT * FROM unnest(${rows.map((row) => row.accountId)}::text[], ${rows.map((row) => row.field)}::text[],
                         ${rows.map((row) => row.expected)}::text[])
    ON CONFLICT (account_id, field) DO UPDATE SET expected_value = EXCLUDED.expected_value`;
}

/** The account_mismatches view's rows counted by field, read directly. */
export async function viewCountsByField(prisma: PrismaClient): Promise<Record<string, number>> {
  const rows = await prisma.$queryRaw<{ field: string; n: number }[]>`
    SELECT field, count(*)::int AS n FROM account_mismatches GROUP BY field`;
  return Object.fromEntries(rows.map((row) => [row.field, row.n]));
}
