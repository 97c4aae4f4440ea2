// account_mismatch_spans and the account_mismatches view: where an account's last synced values
// disagree with what the integrator's records expect (account_expectations). Refreshed once per run,
// when it closes, set-based: a fixed number of statements whatever the number of accounts.
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "./index.js";
import { type MismatchChange, type RawChange, toChange } from "./mismatch-list.js";

/** The column holding each field's last synced value, as text the way account_drift writes it. */
const ACTUAL_VALUE = Prisma.raw(`CASE e.field
    WHEN 'exists' THEN (a.last_status = 'ok')::text
    WHEN 'externalId' THEN a.external_id
    WHEN 'name' THEN a.name
    WHEN 'active' THEN a.active::text
    WHEN 'onStartAttendance' THEN a.on_start_attendance
    WHEN 'onFinishAttendance' THEN a.on_finish_attendance
    WHEN 'onReceiveMessage' THEN a.on_receive_message
    WHEN 'onSendingMessage' THEN a.on_sending_message
    WHEN 'onMessageStatus' THEN a.on_message_status
    WHEN 'onMessageDeliveryError' THEN a.on_message_delivery_error
  END`);

/**
 * Whether the account's last fetch tells the field's value: found, or 404 for `exists`. (The same
 * rule as the view's; an account never synced or failing is unverified.)
 */
const VERIFIED = Prisma.raw(
  "a.tracked AND (a.last_status = 'ok' OR (a.last_status = 'not_found' AND e.field = 'exists'))",
);

/**
 * The disagreements now, as a query of (account_id, field, expected, actual), of every account or only
 * of those in plugchat_mismatch_scope.
 */
function current(scoped: boolean): Prisma.Sql {
  return Prisma.sql`
  SELECT e.account_id, e.field, e.expected_value AS expected, v.actual
    FROM account_expectations e
    JOIN accounts a ON a.id = e.account_id
    CROSS JOIN LATERAL (SELECT ${ACTUAL_VALUE} AS actual) v
   WHERE ${VERIFIED} AND v.actual IS DISTINCT FROM e.expected_value ${inScope(scoped, "e")}`;
}

/** `AND <alias>.account_id` is an account to compare, when the comparison is scoped. */
function inScope(scoped: boolean, alias: string): Prisma.Sql {
  return scoped
    ? Prisma.sql`AND ${Prisma.raw(alias)}.account_id IN (SELECT account_id FROM plugchat_mismatch_scope)`
    : Prisma.empty;
}

export interface MismatchRefresh {
  opened: MismatchChange[];
  resolved: MismatchChange[];
  /** Open after the refresh, as the view counts them. */
  open: number;
}

/**
 * Compares the expectations of the accounts written since the last comparison (account_mismatch_checks)
 * with their last synced values, for run `runId`: spans open for new disagreements, end for resolved
 * ones (the field now agrees, is no longer expected, or the account is no longer tracked), and keep the
 * latest values of persisting ones. An account nobody wrote since keeps its spans as they are: nothing
 * it is compared on has changed. A span of an account that is unverified now (failing) stays open:
 * nothing is known to have changed.
 */
export async function refreshMismatches(db: Db, runId: number): Promise<MismatchRefresh> {
  // With no expectation and no open span there is nothing to compare or to end: most deployments keep
  // no records to check against, and their runs then skip the temporary tables (catalog rows written,
  // and WAL, every run) and their statements. What was written since needs no comparison either.
  if (!(await mayHaveMismatches(db))) {
    await db.$executeRaw`DELETE FROM account_mismatch_checks`;
    return { opened: [], resolved: [], open: 0 };
  }
  const scope = await takeMismatchChecks(db);
  if (scope === "none") return { opened: [], resolved: [], open: await countOpenMismatches(db) };
  const scoped = scope === "written";
  // The comparison hashes every tracked account's synced values: at 100,000 accounts they outgrow the
  // default 4 MB, and the hash went to disk (0.25 s, against 0.19 s in memory).
  await db.$executeRawUnsafe("SET LOCAL work_mem = '32MB'");
  // Computed once (a scan of the expectations compared), then read by the three statements below.
  await db.$executeRaw`
    CREATE TEMPORARY TABLE plugchat_current_mismatches ON COMMIT DROP AS ${current(scoped)}`;
  await db.$executeRawUnsafe("CREATE UNIQUE INDEX ON plugchat_current_mismatches (account_id, field)");
  await db.$executeRawUnsafe("ANALYZE plugchat_current_mismatches");
  const resolved = await db.$queryRaw<RawChange[]>`
    WITH current AS (SELECT * FROM plugchat_current_mismatches),
    ended AS (
      UPDATE account_mismatch_spans s SET ended_at = now(), ended_run_id = ${runId}
       WHERE s.ended_at IS NULL ${inScope(scoped, "s")}
         AND NOT EXISTS (SELECT 1 FROM current c WHERE c.account_id = s.account_id AND c.field = s.field)
         AND NOT EXISTS (SELECT 1 FROM account_expectations e JOIN accounts a ON a.id = e.account_id
                          WHERE e.account_id = s.account_id AND e.field = s.field AND NOT (${VERIFIED}))
      RETURNING s.account_id, s.field, s.expected, s.actual)
    SELECT n.account_id, a.name, n.field, n.expected, n.actual
      FROM ended n JOIN accounts a ON a.id = n.account_id ORDER BY n.account_id, n.field`;
  await db.$executeRaw`
    UPDATE account_mismatch_spans s SET expected = c.expected, actual = c.actual
      FROM plugchat_current_mismatches c
     WHERE s.ended_at IS NULL AND c.account_id = s.account_id AND c.field = s.field
       AND (s.expected IS DISTINCT FROM c.expected OR s.actual IS DISTINCT FROM c.actual)`;
  const opened = await db.$queryRaw<RawChange[]>`
    WITH current AS (SELECT * FROM plugchat_current_mismatches),
    began AS (
      INSERT INTO account_mismatch_spans (account_id, field, expected, actual, began_run_id)
      SELECT c.account_id, c.field, c.expected, c.actual, ${runId}::int FROM current c
       WHERE NOT EXISTS (SELECT 1 FROM account_mismatch_spans s
                          WHERE s.ended_at IS NULL AND s.account_id = c.account_id AND s.field = c.field)
       ORDER BY c.account_id, c.field
      RETURNING account_id, field, expected, actual)
    SELECT b.account_id, a.name, b.field, b.expected, b.actual
      FROM began b JOIN accounts a ON a.id = b.account_id ORDER BY b.account_id, b.field`;
  return {
    opened: opened.map(toChange),
    resolved: resolved.map(toChange),
    open: await countOpenMismatches(db),
  };
}

/**
 * Takes the checks written since the last comparison (deleting them: this transaction's commit is the
 * comparison's) into plugchat_mismatch_scope, one row per account: `all` when one stands for every
 * account, `none` when there were none. A check written meanwhile, not yet committed, is left for the
 * next comparison.
 */
async function takeMismatchChecks(db: Db): Promise<"all" | "written" | "none"> {
  // An unchanged run wrote none: no temporary table then.
  const [pending] = await db.$queryRaw<{ any: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM account_mismatch_checks) AS any`;
  if (!pending?.any) return "none";
  await db.$executeRawUnsafe(
    "CREATE TEMPORARY TABLE plugchat_mismatch_scope (account_id text PRIMARY KEY) ON COMMIT DROP",
  );
  await db.$executeRaw`
    WITH taken AS (DELETE FROM account_mismatch_checks RETURNING account_id)
    INSERT INTO plugchat_mismatch_scope SELECT DISTINCT account_id FROM taken`;
  // So that a few accounts are looked up by key rather than every expectation scanned.
  await db.$executeRawUnsafe("ANALYZE plugchat_mismatch_scope");
  const [row] = await db.$queryRaw<{ accounts: number; all: boolean }[]>`
    SELECT count(*)::int AS accounts, bool_or(account_id = '*') AS all FROM plugchat_mismatch_scope`;
  if (row?.all) return "all";
  return (row?.accounts ?? 0) > 0 ? "written" : "none";
}

async function countOpenMismatches(db: Db): Promise<number> {
  const [count] = await db.$queryRaw<{ open: number }[]>`
    SELECT count(*)::int AS open FROM account_mismatches`;
  return count?.open ?? 0;
}

/** Whether any expectation is recorded or any mismatch span is open. */
async function mayHaveMismatches(db: Db): Promise<boolean> {
  const [row] = await db.$queryRaw<{ pending: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM account_expectations)
        OR EXISTS (SELECT 1 FROM account_mismatch_spans WHERE ended_at IS NULL) AS pending`;
  return row?.pending ?? true;
}

/** Records the refresh's counts on the run's row. */
export async function recordMismatchCounts(
  db: Db,
  runId: number,
  counts: { open: number; opened: number; resolved: number },
): Promise<void> {
  await db.$executeRaw`
    UPDATE sync_runs SET mismatches_open = ${counts.open}, mismatches_opened = ${counts.opened},
                         mismatches_resolved = ${counts.resolved}
     WHERE id = ${runId}`;
}

/** Open mismatches per field, in field order: the gauge's and the status page's figures. */
export async function mismatchCountsByField(db: Db): Promise<{ field: string; mismatches: number }[]> {
  return db.$queryRaw<{ field: string; mismatches: number }[]>`
    SELECT field, count(*)::int AS mismatches FROM account_mismatches GROUP BY field ORDER BY field`;
}

/** The first `limit` mismatches run `runId` opened (by account and field), and how many it opened. */
export async function mismatchesOpenedBy(
  db: Db,
  runId: number,
  limit: number,
): Promise<{ first: MismatchChange[]; total: number }> {
  const rows = await db.$queryRaw<(RawChange & { total: number })[]>`
    SELECT s.account_id, a.name, s.field, s.expected, s.actual, count(*) OVER ()::int AS total
      FROM account_mismatch_spans s JOIN accounts a ON a.id = s.account_id
     WHERE s.began_run_id = ${runId}
     ORDER BY s.account_id, s.field
     LIMIT ${limit}`;
  return { first: rows.map(toChange), total: rows[0]?.total ?? 0 };
}

/** Tracked accounts with at least one expected value: 0 when nothing is compared at all. */
export async function countAccountsWithExpectations(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<{ accounts: number }[]>`
    SELECT count(*)::int AS accounts FROM accounts a
     WHERE a.tracked AND EXISTS (SELECT 1 FROM account_expectations e WHERE e.account_id = a.id)`;
  return row?.accounts ?? 0;
}
