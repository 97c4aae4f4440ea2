// What `plugchat-sync accounts` does to the tracked set: checks, batching and transactions around the
// statements of src/db/sql/accounts.ts. Writes are set-based (one statement per batch of ids, whatever
// its size) so that importing 100,000 ids takes a few round trips, not 100,000.
import type { PrismaClient } from "../db/prisma.js";
import { type AccountPageRow, accountsPage, trackIds, untrackIds } from "../db/sql/accounts.js";
import type { Db, Reader } from "../db/sql/index.js";
import { UserFacingError } from "../errors.js";
import { quoted } from "../lib/text.js";
import { isValidAccountId } from "../plugchat/account-id.js";

export const ACCOUNT_STATUSES = ["pending", "ok", "not_found", "failed"] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** Disjoint: every distinct id given lands in exactly one of them. */
export interface TrackResult {
  /** New rows. */
  added: number;
  /** Rows that existed with `tracked = false` and are tracked again. */
  retracked: number;
  /** Rows that were already tracked, left untouched. */
  alreadyTracked: number;
}

export interface TrackOptions {
  /** Ids per statement. Default 5,000. */
  batchSize?: number;
  /** How long the whole transaction may take. Default 10 minutes. */
  timeoutMs?: number;
  /** Called after each statement with the distinct ids written so far and their total. */
  onProgress?: (written: number, total: number) => void;
  /**
   * Runs once the ids are tracked, in the same transaction (an import's expected values: stored with
   * its ids or not at all). Not called when there are no ids.
   */
  afterTracking?: (tx: Db) => Promise<void>;
}

/** Ids refused before anything is written: each one would end up in a URL path. */
export class InvalidAccountIdsError extends UserFacingError {
  readonly invalid: readonly string[];

  constructor(invalid: readonly string[]) {
    const shown = invalid.slice(0, 5).map((id) => quoted(id, 41));
    const more = invalid.length > 5 ? ` and ${invalid.length - 5} more` : "";
    super(
      `${invalid.length} invalid account id${invalid.length === 1 ? "" : "s"}, nothing was added: ${shown.join(", ")}${more} (an account id is 1 to 128 ASCII letters, digits, "-" or "_")`,
    );
    this.invalid = invalid;
  }
}

/**
 * Makes every id a tracked account, all in one transaction: if anything fails, nothing is added.
 * Existing rows keep their synced data and history; a removed one only gets `tracked = true` back.
 * Any invalid id (`/`, `..`, `?`, `#`, `%`, spaces, control characters...) refuses the whole call
 * with an `InvalidAccountIdsError` before any SQL; the table's CHECK constraint is the last line of
 * defence behind it.
 */
export async function trackAccounts(
  prisma: PrismaClient,
  ids: readonly string[],
  options: TrackOptions = {},
): Promise<TrackResult> {
  const invalid = ids.filter((id) => !isValidAccountId(id));
  if (invalid.length > 0) throw new InvalidAccountIdsError(invalid);
  const unique = [...new Set(ids)];
  const batchSize = options.batchSize ?? 5_000;
  const result: TrackResult = { added: 0, retracked: 0, alreadyTracked: 0 };
  if (unique.length === 0) return result;
  return prisma.$transaction(
    async (tx) => {
      for (let start = 0; start < unique.length; start += batchSize) {
        const batch = unique.slice(start, start + batchSize);
        const counts = await trackIds(tx, batch);
        result.added += counts.added;
        result.retracked += counts.retracked;
        result.alreadyTracked += batch.length - counts.added - counts.retracked;
        options.onProgress?.(start + batch.length, unique.length);
      }
      await options.afterTracking?.(tx);
      return result;
    },
    { timeout: options.timeoutMs ?? 600_000, maxWait: 30_000 },
  );
}

/** Every distinct id given, by what happened to it. */
export interface UntrackResult {
  removed: string[];
  /** In the table but already `tracked = false`. */
  alreadyRemoved: string[];
  /** Not in the table at all (never added, or a typo). */
  unknown: string[];
}

/**
 * Stops tracking the ids: `tracked = false`, nothing deleted, so the row, its synced data and its
 * drift history stay for reporting, and adding the id again resumes where it was.
 */
export async function untrackAccounts(prisma: PrismaClient, ids: readonly string[]): Promise<UntrackResult> {
  const result: UntrackResult = { removed: [], alreadyRemoved: [], unknown: [] };
  const unique = [...new Set(ids)];
  if (unique.length === 0) return result;
  const rows = await untrackIds(prisma, unique);
  for (const row of rows) {
    if (row.outcome === "removed") result.removed.push(row.id);
    else if (row.outcome === "already_removed") result.alreadyRemoved.push(row.id);
    else result.unknown.push(row.id);
  }
  return result;
}

/** One account as `accounts list` shows it: its page row, with `status` for `last_status`. */
export type AccountListing = Omit<AccountPageRow, "lastStatus"> & { status: AccountStatus };

export interface ListOptions {
  status?: AccountStatus | undefined;
  /** Include removed accounts (`tracked = false`). */
  includeRemoved?: boolean | undefined;
  /** Rows fetched per query. Default 1,000. */
  pageSize?: number | undefined;
}

/**
 * The accounts in id order, fetched a page at a time (keyset on id, so each page is an index range
 * scan however deep into the table it is) and yielded one by one: a large table is never held whole.
 */
export async function* listAccounts(db: Reader, options: ListOptions = {}): AsyncGenerator<AccountListing> {
  const pageSize = options.pageSize ?? 1_000;
  let afterId: string | undefined;
  for (;;) {
    const page = await accountsPage(db, {
      status: options.status,
      includeRemoved: options.includeRemoved,
      afterId,
      pageSize,
    });
    for (const row of page) {
      yield {
        id: row.id,
        tracked: row.tracked,
        // The table's CHECK constraint admits only these values.
        status: row.lastStatus as AccountStatus,
        name: row.name,
        active: row.active,
        externalId: row.externalId,
        lastSyncedAt: row.lastSyncedAt,
        lastAttemptAt: row.lastAttemptAt,
        consecutiveFailures: row.consecutiveFailures,
        lastError: row.lastError,
        missingSince: row.missingSince,
        addedAt: row.addedAt,
      };
    }
    const last = page.at(-1);
    if (!last || page.length < pageSize) return;
    afterId = last.id;
  }
}
