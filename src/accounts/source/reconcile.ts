// Makes the tracked set equal to a list of ids (the account source's, or a file's), set-based: the
// ids are loaded page by page into a temporary table, then a fixed number of statements count and
// apply the difference, whatever the number of ids. Memory holds one page.
import type { PrismaClient } from "../../db/prisma.js";
import {
  classifySourceValue,
  decideReconciliation,
  type InvalidSourceValue,
  MAX_INVALID_NAMED,
  type ReconcileCounts,
  type RemovalLimit,
} from "./plan.js";

export interface ReconcileOptions {
  limit: RemovalLimit;
  /** Count what would change and change nothing (`accounts source check`). */
  dryRun?: boolean;
  /** Ids listed per kind of change in the result. Default 10. */
  sampleSize?: number;
  /** Longest time the whole reconciliation may take, reading included. Default 10 minutes. */
  timeoutMs?: number;
}

export interface ReconcileResult {
  /** `applied` (perhaps changing nothing), `refused` by the removal limit, or `dry_run`. */
  outcome: "applied" | "refused" | "dry_run";
  /** What the ids change (or would change: refused, dry run). */
  counts: ReconcileCounts;
  /** NULL values in the list, skipped. */
  nulls: number;
  /** Valid ids seen again, kept once. */
  duplicates: number;
  /** Values that are not account ids, skipped (never tracked, never requested). */
  invalid: number;
  /** The first few of them, with the reason. */
  invalidExamples: InvalidSourceValue[];
  /** Why it was refused; null otherwise. */
  refusal: string | null;
  /** The first ids (in id order) of each change. */
  samples: { added: string[]; retracked: string[]; removed: string[] };
}

// Two reconciliations at once (a run's and an `accounts import --replace`) would each count against
// a set the other is changing: they take turns.
const LOCK_KEY = "plugchat-sync:reconcile-tracked-ids";

/**
 * Reads `pages` (values of the source's first column) into a temporary table, counts what they
 * change, and applies it unless the removal limit refuses it: new ids tracked, ids of untracked rows
 * tracked again, tracked ids missing from the list untracked (rows and history kept). One transaction:
 * when reading fails halfway, nothing changes (the error is rethrown).
 */
export async function reconcileTrackedIds(
  prisma: PrismaClient,
  pages: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  const sampleSize = options.sampleSize ?? 10;
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${LOCK_KEY}))`;
      await tx.$executeRawUnsafe(
        "CREATE TEMPORARY TABLE plugchat_source_ids (id text PRIMARY KEY) ON COMMIT DROP",
      );
      let nulls = 0;
      let duplicates = 0;
      let invalid = 0;
      const invalidExamples: InvalidSourceValue[] = [];
      for await (const page of pages) {
        const ids: string[] = [];
        for (const value of page) {
          const classified = classifySourceValue(value);
          if (classified.kind === "id") ids.push(classified.id);
          else if (classified.kind === "null") nulls += 1;
          else {
            invalid += 1;
            if (invalidExamples.length < MAX_INVALID_NAMED) invalidExamples.push(classified.invalid);
          }
        }
        if (ids.length === 0) continue;
        const inserted = await tx.$executeRaw`
          INSERT INTO plugchat_source_ids (id) SELECT unnest(${ids}::text[])
          ON CONFLICT (id) DO NOTHING`;
        duplicates += ids.length - inserted;
      }
      // A temporary table gets no statistics by itself; the anti-joins below need them for a good plan.
      await tx.$executeRawUnsafe("ANALYZE plugchat_source_ids");
      const [row] = await tx.$queryRaw<ReconcileCounts[]>`
        SELECT (SELECT count(*) FROM plugchat_source_ids)::int AS "sourceIds",
               (SELECT count(*) FROM accounts WHERE tracked)::int AS tracked,
               (SELECT count(*) FROM plugchat_source_ids s
                 WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.id))::int AS added,
               (SELECT count(*) FROM plugchat_source_ids s JOIN accounts a ON a.id = s.id
                 WHERE NOT a.tracked)::int AS retracked,
               (SELECT count(*) FROM accounts a
                 WHERE a.tracked AND NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id))::int AS removed`;
      const counts: ReconcileCounts = row ?? { sourceIds: 0, tracked: 0, added: 0, retracked: 0, removed: 0 };
      const samples = await sampleChanges(tx, counts, sampleSize);
      const decision = decideReconciliation(counts, options.limit);
      const result = { counts, nulls, duplicates, invalid, invalidExamples, samples };
      if (decision.kind === "refused")
        return { ...result, outcome: "refused" as const, refusal: decision.reason };
      if (options.dryRun) return { ...result, outcome: "dry_run" as const, refusal: null };

      const added = await tx.$executeRaw`
        INSERT INTO accounts (id) SELECT id FROM plugchat_source_ids ORDER BY id
        ON CONFLICT (id) DO NOTHING`;
      const retracked = await tx.$executeRaw`
        UPDATE accounts AS a SET tracked = true
          FROM plugchat_source_ids s WHERE a.id = s.id AND NOT a.tracked`;
      const removed = await tx.$executeRaw`
        UPDATE accounts AS a SET tracked = false
         WHERE a.tracked AND NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id)`;
      return {
        ...result,
        counts: { ...counts, added, retracked, removed },
        outcome: "applied" as const,
        refusal: null,
      };
    },
    { timeout: options.timeoutMs ?? 600_000, maxWait: 30_000 },
  );
}

type Transaction = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

async function sampleChanges(
  tx: Transaction,
  counts: ReconcileCounts,
  size: number,
): Promise<ReconcileResult["samples"]> {
  const ids = (rows: { id: string }[]) => rows.map((entry) => entry.id);
  return {
    added:
      counts.added === 0
        ? []
        : ids(
            await tx.$queryRaw`
              SELECT s.id FROM plugchat_source_ids s
               WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.id) ORDER BY s.id LIMIT ${size}`,
          ),
    retracked:
      counts.retracked === 0
        ? []
        : ids(
            await tx.$queryRaw`
              SELECT a.id FROM plugchat_source_ids s JOIN accounts a ON a.id = s.id
               WHERE NOT a.tracked ORDER BY a.id LIMIT ${size}`,
          ),
    removed:
      counts.removed === 0
        ? []
        : ids(
            await tx.$queryRaw`
              SELECT a.id FROM accounts a
               WHERE a.tracked AND NOT EXISTS (SELECT 1 FROM plugchat_source_ids s WHERE s.id = a.id)
               ORDER BY a.id LIMIT ${size}`,
          ),
  };
}
