// accounts: one row per tracked (or once tracked) Plugchat account, its synced data and its status.
// Writes are set-based (unnest arrays): one statement per batch of ids, whatever its size.
import type { PlugchatAccount } from "../../plugchat/index.js";
import type { StoredAccount } from "../../sync/drift.js";
import type { Db, Reader } from "./index.js";

export async function countTrackedAccounts(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<{ tracked: number }[]>`
    SELECT count(*)::int AS tracked FROM accounts WHERE tracked`;
  return row?.tracked ?? 0;
}

/** Whether the account has a row: tracked now or once (a removed account keeps its row and history). */
export async function accountIsKnown(db: Reader, id: string): Promise<boolean> {
  const [row] = await db.$queryRaw<{ known: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ${id}) AS known`;
  return row?.known === true;
}

/**
 * One page of tracked account ids after `afterId`, in id order (keyset pagination). The page comes as
 * one text, the ids separated by spaces (which the table's CHECK keeps out of ids): a run plans 20,000
 * ids in one query, and one row per id cost the client more than the query (docs/benchmarks.md).
 */
export async function trackedIdsAfter(db: Db, afterId: string | null, limit: number): Promise<string[]> {
  // No id is empty (the CHECK), so `> ''` is every id: one statement for the first page and the next.
  // ARRAY(subquery) keeps the subquery's order; `string_agg(id, ' ' ORDER BY id)` sorted the ordered
  // rows a second time (PostgreSQL before 16): 8.3 ms against 6.8 for 20,000 ids here.
  const [row] = await db.$queryRaw<{ ids: string }[]>`
    SELECT array_to_string(ARRAY(
      SELECT id FROM accounts WHERE tracked AND id > ${afterId ?? ""} ORDER BY id LIMIT ${limit}
    ), ' ') AS ids`;
  return row?.ids ? row.ids.split(" ") : [];
}

interface StoredRow {
  id: string;
  external_id: string | null;
  name: string | null;
  active: boolean | null;
  on_start_attendance: string | null;
  on_finish_attendance: string | null;
  on_receive_message: string | null;
  on_sending_message: string | null;
  on_message_status: string | null;
  on_message_delivery_error: string | null;
  extra: Record<string, unknown>;
  last_synced_at: Date | null;
  missing_since: Date | null;
  last_status: string;
}

/** A stored account and the status of its last attempt (an unchanged success needs no write). */
export type StoredState = StoredAccount & { lastStatus: string };

/**
 * Reads the accounts' rows, without locking them: a batch locks its run's row first, so no other batch
 * writes these rows meanwhile, and only batches write their data and status. Not locking is what lets
 * an unchanged account cost no WAL at all (a row lock is a WAL record, and a whole page after a
 * checkpoint). The rows a batch does write are locked by lockAccounts. Ids with no row are left out.
 */
export async function readAccounts(db: Db, ids: readonly string[]): Promise<Map<string, StoredState>> {
  const rows = await db.$queryRaw<StoredRow[]>`
    SELECT id, external_id, name, active, on_start_attendance, on_finish_attendance, on_receive_message,
           on_sending_message, on_message_status, on_message_delivery_error, extra, last_synced_at,
           missing_since, last_status
      FROM accounts WHERE id = ANY(${[...ids]}::text[])`;
  return new Map(
    rows.map((row) => [
      row.id,
      {
        id: row.id,
        lastSyncedAt: row.last_synced_at,
        missingSince: row.missing_since,
        lastStatus: row.last_status,
        extra: row.extra,
        values: {
          externalId: row.external_id,
          name: row.name,
          active: row.active,
          onStartAttendance: row.on_start_attendance,
          onFinishAttendance: row.on_finish_attendance,
          onReceiveMessage: row.on_receive_message,
          onSendingMessage: row.on_sending_message,
          onMessageStatus: row.on_message_status,
          onMessageDeliveryError: row.on_message_delivery_error,
        },
      },
    ]),
  );
}

/**
 * Locks the rows about to be written until the transaction ends, in id order, so that this batch and
 * another writer of the same rows (an import tracking them) cannot deadlock.
 */
export async function lockAccounts(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$queryRaw`SELECT 1 FROM accounts WHERE id = ANY(${[...ids]}::text[]) ORDER BY id FOR UPDATE`;
}

export type SyncedRow = { id: string; extra: Record<string, unknown> } & PlugchatAccount;

/**
 * The synced data columns of the given accounts, and their status columns as markFound sets them
 * (the same SET, written out: see below why no fragment is shared): one write per row, not two, as
 * each write of a row leaves a dead tuple and its WAL. Only for accounts Plugchat answered for.
 * `onMessageDeliveryError` is written only where the answer had it (null included); where it was left
 * out, the stored value is kept. `extra` is merged: a field the answer left out keeps its kept value.
 */
export async function writeSyncedData(db: Db, rows: readonly SyncedRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <K extends keyof SyncedRow>(key: K) => rows.map((row) => row[key] ?? null);
  const deliveryErrorSent = rows.map((row) => row.onMessageDeliveryError !== undefined);
  await db.$executeRaw`
    UPDATE accounts AS a
       SET external_id = i.external_id, name = i.name, active = i.active,
           on_start_attendance = i.on_start_attendance, on_finish_attendance = i.on_finish_attendance,
           on_receive_message = i.on_receive_message, on_sending_message = i.on_sending_message,
           on_message_status = i.on_message_status,
           on_message_delivery_error = CASE WHEN i.delivery_error_sent THEN i.on_message_delivery_error
                                            ELSE a.on_message_delivery_error END,
           extra = a.extra || i.extra, updated_at = now(),
           last_synced_at = now(), last_attempt_at = now(), last_status = 'ok', last_error = NULL,
           consecutive_failures = 0, missing_since = NULL, failing_since = NULL
      FROM unnest(${column("id")}::text[], ${column("externalId")}::text[], ${column("name")}::text[],
                  ${column("active")}::boolean[], ${column("onStartAttendance")}::text[],
                  ${column("onFinishAttendance")}::text[], ${column("onReceiveMessage")}::text[],
                  ${column("onSendingMessage")}::text[], ${column("onMessageStatus")}::text[],
                  ${column("onMessageDeliveryError")}::text[], ${deliveryErrorSent}::boolean[],
                  ${rows.map((row) => JSON.stringify(row.extra))}::jsonb[])
           AS i(id, external_id, name, active, on_start_attendance, on_finish_attendance, on_receive_message,
                on_sending_message, on_message_status, on_message_delivery_error, delivery_error_sent, extra)
     WHERE a.id = i.id`;
}

/** Status columns of accounts Plugchat answered for: synced now, no failure, not missing. */
export async function markFound(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE accounts
       SET last_synced_at = now(), last_attempt_at = now(), last_status = 'ok', last_error = NULL,
           consecutive_failures = 0, missing_since = NULL, failing_since = NULL
     WHERE id = ANY(${[...ids]}::text[])`;
}

// A write that does not set last_synced_at (a 404, a failure) first folds into it the account's latest
// confirmation after its row's last write (sync_run_batches.confirmed_ids, account_confirmed_at), so
// that the row never loses it once its last_attempt_at moves on. Written out in each statement: this
// module is also loaded, without Prisma's runtime, by commands that only read (`report`).

/** Status columns of accounts Plugchat answered 404 for: missing since their first 404. */
export async function markNotFound(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE accounts AS a
       SET last_synced_at = GREATEST(a.last_synced_at, CASE WHEN a.last_status = 'ok' THEN account_confirmed_at(a.id, a.last_attempt_at) END), last_attempt_at = now(),
           last_status = 'not_found', last_error = NULL, consecutive_failures = 0,
           missing_since = COALESCE(a.missing_since, now()), failing_since = NULL
     WHERE a.id = ANY(${[...ids]}::text[])`;
}

/** Status columns of accounts whose fetch failed: one failure more, failing since the first. */
export async function markFailed(db: Db, failures: readonly { id: string; error: string }[]): Promise<void> {
  if (failures.length === 0) return;
  await db.$executeRaw`
    UPDATE accounts AS a
       SET last_synced_at = GREATEST(a.last_synced_at, CASE WHEN a.last_status = 'ok' THEN account_confirmed_at(a.id, a.last_attempt_at) END), last_attempt_at = now(),
           last_status = 'failed', last_error = f.error,
           consecutive_failures = a.consecutive_failures + 1,
           failing_since = COALESCE(a.failing_since, now())
      FROM unnest(${failures.map((failure) => failure.id)}::text[],
                  ${failures.map((failure) => failure.error)}::text[]) AS f(id, error)
     WHERE a.id = f.id`;
}

/**
 * Tracks the ids: new rows added, removed rows tracked again, tracked rows left untouched.
 *
 * Not `ON CONFLICT DO UPDATE`: that locks every conflicting row until commit, tracked ones included,
 * so a long import would block (or deadlock with) a sync writing those accounts. DO NOTHING takes no
 * row lock, and the UPDATE locks only the removed rows it tracks again. Both parts see the same
 * snapshot, so a row tracked again is not counted as added.
 */
export async function trackIds(
  db: Db,
  ids: readonly string[],
): Promise<{ added: number; retracked: number }> {
  const [row] = await db.$queryRaw<{ added: number; retracked: number }[]>`
    WITH input AS (SELECT DISTINCT unnest(${[...ids]}::text[]) AS id),
         retracked AS (
           UPDATE accounts AS a SET tracked = true
             FROM input WHERE a.id = input.id AND NOT a.tracked
           RETURNING a.id),
         added AS (
           INSERT INTO accounts (id) SELECT id FROM input ORDER BY id
           ON CONFLICT (id) DO NOTHING
           RETURNING id)
    SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM retracked)::int AS retracked`;
  return row ?? { added: 0, retracked: 0 };
}

export type UntrackOutcome = "removed" | "already_removed" | "unknown";

/**
 * Stops tracking the ids (`tracked = false`, nothing deleted) and tells, for each distinct id in id
 * order, what happened. The join on `accounts` sees the rows as they were before the UPDATE (same
 * snapshot), which is what tells "already removed" apart from "never there".
 */
export async function untrackIds(
  db: Db,
  ids: readonly string[],
): Promise<{ id: string; outcome: UntrackOutcome }[]> {
  return db.$queryRaw<{ id: string; outcome: UntrackOutcome }[]>`
    WITH input AS (SELECT DISTINCT unnest(${[...ids]}::text[]) AS id),
         removed AS (
           UPDATE accounts AS a SET tracked = false
             FROM input WHERE a.id = input.id AND a.tracked
           RETURNING a.id)
    SELECT input.id,
           CASE WHEN removed.id IS NOT NULL THEN 'removed'
                WHEN accounts.id IS NOT NULL THEN 'already_removed'
                ELSE 'unknown' END AS outcome
      FROM input
      LEFT JOIN removed ON removed.id = input.id
      LEFT JOIN accounts ON accounts.id = input.id
     ORDER BY input.id`;
}

export interface AccountsPageFilter {
  /** Only accounts with this `last_status`. */
  status?: string | undefined;
  /** Include removed accounts (`tracked = false`). */
  includeRemoved?: boolean | undefined;
  afterId?: string | undefined;
  pageSize: number;
}

/** One account as `accounts list` shows it. */
export interface AccountPageRow {
  id: string;
  tracked: boolean;
  lastStatus: string;
  name: string | null;
  active: boolean | null;
  externalId: string | null;
  lastSyncedAt: Date | null;
  lastAttemptAt: Date | null;
  consecutiveFailures: number;
  lastError: string | null;
  missingSince: Date | null;
  addedAt: Date;
}

/**
 * One page of accounts in id order after `afterId` (keyset on id: an index range scan at any depth),
 * with the times of their latest unchanged success counted, as account_current_state counts them. One
 * statement whatever the filter, so that a plain connection can run it: a null parameter drops its
 * condition, which PostgreSQL folds away as it plans with the values.
 */
export async function accountsPage(db: Reader, filter: AccountsPageFilter): Promise<AccountPageRow[]> {
  const status = filter.status ?? null;
  const afterId = filter.afterId ?? null;
  return db.$queryRaw<AccountPageRow[]>`
    SELECT a.id, a.tracked, a.last_status AS "lastStatus", a.name, a.active,
           a.external_id AS "externalId",
           COALESCE(confirmed.at, a.last_synced_at) AS "lastSyncedAt",
           COALESCE(confirmed.at, a.last_attempt_at) AS "lastAttemptAt",
           a.consecutive_failures AS "consecutiveFailures", a.last_error AS "lastError",
           a.missing_since AS "missingSince", a.added_at AS "addedAt"
      FROM accounts a
      LEFT JOIN LATERAL (
        SELECT account_confirmed_at(a.id, a.last_attempt_at) AS at WHERE a.last_status = 'ok'
      ) confirmed ON true
     WHERE (${filter.includeRemoved === true}::boolean OR a.tracked)
       AND (${status}::text IS NULL OR a.last_status = ${status}::text)
       AND (${afterId}::text IS NULL OR a.id > ${afterId}::text)
     ORDER BY a.id
     LIMIT ${filter.pageSize}::int`;
}

/**
 * The first `limit` accounts (by id) that failed in run `runId`. The table keeps only each account's
 * latest attempt, so "failed in it" is `last_status = 'failed'` with that attempt made while the run
 * was going (runs never overlap): exact for the latest run; for an older run, accounts attempted
 * again since are missing.
 */
export async function failedInRun(
  db: Db,
  runId: number,
  limit: number,
): Promise<{ id: string; name: string | null; last_error: string | null }[]> {
  return db.$queryRaw<{ id: string; name: string | null; last_error: string | null }[]>`
    SELECT a.id, a.name, a.last_error
      FROM accounts a
      JOIN sync_runs r ON r.id = ${runId}
     WHERE a.last_status = 'failed'
       AND a.last_attempt_at BETWEEN r.started_at AND COALESCE(r.finished_at, now())
     ORDER BY a.id
     LIMIT ${limit}`;
}
