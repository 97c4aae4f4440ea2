// account_versions: one row per version of an account (valid_from, valid_to null for the current one).
// A batch closes the current versions its writes made stale and opens the new ones, in its own
// transaction, right after the accounts rows: the versions are always what the rows say, and they
// share the drift rows' clock (the transaction's now()).
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "./index.js";

// The versioned columns, compared and copied as one list so that the two statements cannot disagree.
// `exists` is what the row says: no missing_since.
const FROM_ACCOUNTS =
  Prisma.raw(`a.missing_since IS NULL, a.external_id, a.name, a.active, a.on_start_attendance,
  a.on_finish_attendance, a.on_receive_message, a.on_sending_message, a.on_message_status,
  a.on_message_delivery_error, a.extra`);

/**
 * Closes (valid_to = now()) the current version of each given account whose row no longer equals it:
 * a synced column, `extra` or `exists` changed. An account whose row did not change keeps its version.
 */
export async function closeStaleVersions(db: Db, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db.$executeRaw`
    UPDATE account_versions AS v
        SET valid_to = now()
       FROM accounts AS a
      WHERE a.id = ANY(${[...ids]}::text[]) AND v.account_id = a.id AND v.valid_to IS NULL
        AND (v.exists, v.external_id, v.name, v.active, v.on_start_attendance, v.on_finish_attendance,
             v.on_receive_message, v.on_sending_message, v.on_message_status, v.on_message_delivery_error,
             v.extra) IS DISTINCT FROM (${FROM_ACCOUNTS})`;
}

/**
 * Opens a version (valid_from = now(), seen first by `runId`) for each given account synced at least
 * once that has no current version: its first sync, or one closed by closeStaleVersions just before.
 * Two statements rather than one: the unique index on current versions would see the new one before
 * the old one is closed. An account never synced (404 or failing from the start) gets no version.
 */
export async function openVersions(db: Db, runId: number, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db.$executeRaw`
    INSERT INTO account_versions (account_id, valid_from, run_id, exists, external_id, name, active,
            on_start_attendance, on_finish_attendance, on_receive_message, on_sending_message,
            on_message_status, on_message_delivery_error, extra)
     SELECT a.id, now(), ${runId}, ${FROM_ACCOUNTS}
       FROM accounts AS a
      WHERE a.id = ANY(${[...ids]}::text[]) AND a.last_synced_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM account_versions v WHERE v.account_id = a.id AND v.valid_to IS NULL)
      ORDER BY a.id`;
}
