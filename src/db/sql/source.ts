// The account source's ids, loaded into a temporary table for the length of one transaction, and the
// statements that compare them with the tracked set and apply the difference (set-based: a fixed
// number of statements whatever the number of ids).
import type { ReconcileCounts } from "../../accounts/source/plan.js";
import { Prisma } from "../../generated/prisma/client.js";
import type { Db } from "./index.js";

// Two reconciliations at once (a run's and an `accounts import --replace`) would each count against
// a set the other is changing: they take turns on this lock.
const LOCK_KEY = "plugchat-sync:reconcile-tracked-ids";

/** Waits for any other reconciliation to commit; held until this transaction ends. */
export async function lockReconciliation(db: Db): Promise<void> {
  await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${LOCK_KEY}))`;
}

export async function createSourceIdsTable(db: Db): Promise<void> {
  await db.$executeRawUnsafe(
    "CREATE TEMPORARY TABLE plugchat_source_ids (id text PRIMARY KEY) ON COMMIT DROP",
  );
}

/** Adds ids to the table; returns how many were new to it. */
export async function insertSourceIds(db: Db, ids: readonly string[]): Promise<number> {
  return db.$executeRaw`
    INSERT INTO plugchat_source_ids (id) SELECT unnest(${[...ids]}::text[])
    ON CONFLICT (id) DO NOTHING`;
}

/** A temporary table gets no statistics by itself; the anti-joins below need them for a good plan. */
export async function analyzeSourceIds(db: Db): Promise<void> {
  await db.$executeRawUnsafe("ANALYZE plugchat_source_ids");
}

/** What applying the ids would change. */
export async function countSourceChanges(db: Db): Promise<ReconcileCounts> {
  const [row] = await db.$queryRaw<ReconcileCounts[]>`
    SELECT (SELECT count(*) FROM plugchat_source_ids)::int AS "sourceIds",
           (SELECT count(*) FROM accounts WHERE tracked)::int AS tracked,
           (SELECT count(*) FROM plugchat_source_ids s
             WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.id))::int AS added,
           (SELECT count(*) FROM plugchat_source_ids s JOIN accounts a ON a.id = s.id
             WHERE NOT a.tracked)::int AS retracked,
           (SELECT count(*) FROM accounts a
             WHERE a.tracked AND NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id))::int AS removed`;
  return row ?? { sourceIds: 0, tracked: 0, added: 0, retracked: 0, removed: 0 };
}

export type SourceChange = "added" | "retracked" | "removed";

/** The first `limit` ids, in id order, of one kind of change. */
export async function sampleSourceChanges(db: Db, change: SourceChange, limit: number): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>(sampleQuery(change, limit));
  return rows.map((row) => row.id);
}

function sampleQuery(change: SourceChange, limit: number) {
  const { sql } = Prisma;
  if (change === "added")
    return sql`
      SELECT s.id FROM plugchat_source_ids s
       WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.id) ORDER BY s.id LIMIT ${limit}`;
  if (change === "retracked")
    return sql`
      SELECT a.id FROM plugchat_source_ids s JOIN accounts a ON a.id = s.id
       WHERE NOT a.tracked ORDER BY a.id LIMIT ${limit}`;
  return sql`
    SELECT a.id FROM accounts a
     WHERE a.tracked AND NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id)
     ORDER BY a.id LIMIT ${limit}`;
}

/**
 * Tracks the ids with no row yet; returns how many. Those are found first by a join: left to
 * ON CONFLICT, each of 100,000 ids already tracked cost a check of its own (0.55 s against 0.03).
 */
export async function addSourceIds(db: Db): Promise<number> {
  return db.$executeRaw`
    INSERT INTO accounts (id)
    SELECT id FROM plugchat_source_ids s WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.id)
     ORDER BY id
    ON CONFLICT (id) DO NOTHING`;
}

/** Tracks again the listed ids whose rows were untracked; returns how many. */
export async function retrackSourceIds(db: Db): Promise<number> {
  return db.$executeRaw`
    UPDATE accounts AS a SET tracked = true
      FROM plugchat_source_ids s WHERE a.id = s.id AND NOT a.tracked`;
}

/** Untracks the tracked accounts missing from the list (rows and history kept); returns how many. */
export async function untrackMissingIds(db: Db): Promise<number> {
  return db.$executeRaw`
    UPDATE accounts AS a SET tracked = false
     WHERE a.tracked AND NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id)`;
}
