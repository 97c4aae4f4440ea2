// Makes the tracked set equal to a list of ids (the account source's, or a file's), set-based: the
// ids are loaded page by page into a temporary table, then a fixed number of statements count and
// apply the difference, whatever the number of ids. Memory holds one page.
import type { PrismaClient } from "../../db/prisma.js";
import type { Db } from "../../db/sql/index.js";
import {
  addSourceIds,
  analyzeSourceIds,
  countSourceChanges,
  createSourceIdsTable,
  insertSourceIds,
  lockReconciliation,
  retrackSourceIds,
  sampleSourceChanges,
  untrackMissingIds,
} from "../../db/sql/source.js";
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
      await lockReconciliation(tx);
      await createSourceIdsTable(tx);
      const loaded = await loadSourceIds(tx, pages);
      await analyzeSourceIds(tx);
      const counts = await countSourceChanges(tx);
      const samples = await sampleChanges(tx, counts, sampleSize);
      const decision = decideReconciliation(counts, options.limit);
      const result = { counts, ...loaded, samples };
      if (decision.kind === "refused")
        return { ...result, outcome: "refused" as const, refusal: decision.reason };
      if (options.dryRun) return { ...result, outcome: "dry_run" as const, refusal: null };

      const added = await addSourceIds(tx);
      const retracked = await retrackSourceIds(tx);
      const removed = await untrackMissingIds(tx);
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

/** The first ids of each change; no query for a change that counts none. */
async function sampleChanges(
  tx: Db,
  counts: ReconcileCounts,
  size: number,
): Promise<ReconcileResult["samples"]> {
  const sample = async (change: "added" | "retracked" | "removed") =>
    counts[change] === 0 ? [] : sampleSourceChanges(tx, change, size);
  return {
    added: await sample("added"),
    retracked: await sample("retracked"),
    removed: await sample("removed"),
  };
}

/** Writes the valid ids of every page into the temporary table, counting what was left out and why. */
async function loadSourceIds(
  tx: Db,
  pages: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>,
): Promise<Pick<ReconcileResult, "nulls" | "duplicates" | "invalid" | "invalidExamples">> {
  const loaded = { nulls: 0, duplicates: 0, invalid: 0, invalidExamples: [] as InvalidSourceValue[] };
  for await (const page of pages) {
    const ids: string[] = [];
    for (const value of page) {
      const classified = classifySourceValue(value);
      if (classified.kind === "id") ids.push(classified.id);
      else if (classified.kind === "null") loaded.nulls += 1;
      else {
        loaded.invalid += 1;
        if (loaded.invalidExamples.length < MAX_INVALID_NAMED)
          loaded.invalidExamples.push(classified.invalid);
      }
    }
    if (ids.length > 0) loaded.duplicates += ids.length - (await insertSourceIds(tx, ids));
  }
  return loaded;
}
