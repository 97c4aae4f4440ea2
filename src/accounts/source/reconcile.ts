// Makes the tracked set equal to a list of ids (the account source's, or a file's), and the stored
// expectations equal to the values its other columns expect, set-based: the rows are loaded page by
// page into temporary tables, then a fixed number of statements count and apply the difference,
// whatever the number of ids. Memory holds two pages (one written while the next is read), and, when
// the rows expect values, the stored digests as a sorted set of 8 bytes each (stored-digests.ts): a
// run sends PostgreSQL only the values of the accounts whose digest is not stored. An import without
// --replace only adds and updates its file's expectations (mergeExpectations), through the same
// tables.
import type { PrismaClient } from "../../db/prisma.js";
import {
  analyzeSourceExpectations,
  applySourceExpectations,
  countExpectedAccounts,
  createSourceExpectationsTable,
  type ExpectedAccountCounts,
  insertSourceIdsWithExpectations,
  type LoadedExpectations,
  readStoredDigestPrefixes,
} from "../../db/sql/expectations.js";
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
  type ExpectedField,
  expectationsDigest,
  expectationsOfRow,
  expectedFieldsOf,
  MAX_INVALID_EXPECTED_NAMED,
} from "./expectations.js";
import {
  classifySourceValue,
  decideReconciliation,
  type InvalidSourceValue,
  MAX_INVALID_NAMED,
  type ReconcileCounts,
  type RemovalLimit,
} from "./plan.js";
import type { SourcePage } from "./read-source.js";
import { StoredDigests } from "./stored-digests.js";

export interface ReconcileOptions {
  limit: RemovalLimit;
  /** Whose rows they are, for messages about their columns: `ACCOUNT_SOURCE_QUERY`, a file's name. */
  rowsFrom: string;
  /** Count what would change and change nothing (`accounts source check`). */
  dryRun?: boolean;
  /** Ids listed per kind of change in the result. Default 10. */
  sampleSize?: number;
  /** Longest time the whole reconciliation may take, reading included. Default 10 minutes. */
  timeoutMs?: number;
  /** Also count, when applied, the accounts whose expected values change (`accounts import`). */
  countExpectedAccounts?: boolean;
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
  expectations: ExpectationsResult;
}

type ExpectationsResult = ExpectationsLoaded & {
  /** Expectations new or changed, and no longer given (0 unless applied). */
  set: number;
  removed: number;
  /** The same in accounts, when asked for (`countExpectedAccounts`) and applied. */
  accounts?: ExpectedAccountCounts;
};

interface ExpectationsLoaded {
  /** The fields the rows' columns expect, in column order; none without such columns. */
  fields: ExpectedField[];
  /** Expected values that cannot be values of their field, skipped. */
  invalid: number;
  /** The first few of them: id, field, value and why. */
  invalidExamples: string[];
}

/**
 * Reads `pages` (values of the source's first column) into a temporary table, counts what they
 * change, and applies it unless the removal limit refuses it: new ids tracked, ids of untracked rows
 * tracked again, tracked ids missing from the list untracked (rows and history kept). One transaction:
 * when reading fails halfway, nothing changes (the error is rethrown).
 */
export async function reconcileTrackedIds(
  prisma: PrismaClient,
  pages: AsyncIterable<SourcePage> | Iterable<SourcePage>,
  options: ReconcileOptions,
): Promise<ReconcileResult> {
  const sampleSize = options.sampleSize ?? 10;
  return prisma.$transaction(
    async (tx) => {
      await lockReconciliation(tx);
      await createSourceIdsTable(tx);
      await createSourceExpectationsTable(tx);
      // Counting the accounts whose values change needs every account's values; a run's does not.
      const { expectations, ...loaded } = await loadSourceRows(tx, pages, {
        rowsFrom: options.rowsFrom,
        unchangedToo: options.countExpectedAccounts === true,
      });
      await analyzeSourceIds(tx);
      await analyzeSourceExpectations(tx);
      const counts = await countSourceChanges(tx);
      const samples = await sampleChanges(tx, counts, sampleSize);
      const decision = decideReconciliation(counts, options.limit);
      const result = { counts, ...loaded, samples, expectations: { ...expectations, set: 0, removed: 0 } };
      if (decision.kind === "refused")
        return { ...result, outcome: "refused" as const, refusal: decision.reason };
      if (options.dryRun) return { ...result, outcome: "dry_run" as const, refusal: null };

      const added = await addSourceIds(tx);
      const retracked = await retrackSourceIds(tx);
      const removed = await untrackMissingIds(tx);
      const accounts = options.countExpectedAccounts ? await countExpectedAccounts(tx, "replace") : undefined;
      const expected = await applySourceExpectations(tx, "replace", {
        rowsExpectValues: expectations.fields.length > 0,
      });
      return {
        ...result,
        expectations: { ...expectations, ...expected, ...(accounts && { accounts }) },
        counts: { ...counts, added, retracked, removed },
        outcome: "applied" as const,
        refusal: null,
      };
    },
    { timeout: options.timeoutMs ?? 600_000, maxWait: 30_000 },
  );
}

/**
 * Adds and updates the values that `pages`' columns after the id expect of their ids, removing none
 * (`accounts import` without --replace), in the caller's transaction, once the ids are tracked.
 * Throws an ExpectationColumnError, before anything is written, for a column that names no field.
 */
export async function mergeExpectations(
  tx: Db,
  pages: AsyncIterable<SourcePage> | Iterable<SourcePage>,
  rowsFrom: string,
): Promise<Required<ExpectationsResult>> {
  // The loader fills both tables; the ids' one is only dropped at commit.
  await createSourceIdsTable(tx);
  await createSourceExpectationsTable(tx);
  const { expectations } = await loadSourceRows(tx, pages, { rowsFrom, unchangedToo: true });
  await analyzeSourceExpectations(tx);
  const accounts = await countExpectedAccounts(tx, "merge");
  const changes = await applySourceExpectations(tx, "merge", { rowsExpectValues: true });
  return { ...expectations, ...changes, accounts };
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

type Loaded = Pick<ReconcileResult, "nulls" | "duplicates" | "invalid" | "invalidExamples"> & {
  expectations: ExpectationsLoaded;
};

interface LoadOptions {
  /** Whose rows they are, for messages about their columns. */
  rowsFrom: string;
  /** Load every account's expected values, not only those whose digest is not the stored one. */
  unchangedToo: boolean;
}

/**
 * Writes the valid ids of every page into the temporary table, and the values the other columns
 * expect of them into the other (only the first row of an id listed twice; unless `unchangedToo`, only
 * the accounts whose digest is not stored), counting what was left out and why. Throws an
 * ExpectationColumnError, before anything is written, for a column that names no field.
 */
async function loadSourceRows(
  tx: Db,
  pages: AsyncIterable<SourcePage> | Iterable<SourcePage>,
  options: LoadOptions,
): Promise<Loaded> {
  const loaded: Loaded = {
    nulls: 0,
    duplicates: 0,
    invalid: 0,
    invalidExamples: [],
    expectations: { fields: [], invalid: 0, invalidExamples: [] },
  };
  let fields: ExpectedField[] | undefined;
  // Read once the rows are known to expect values; undefined loads every account's (unchangedToo).
  let stored: StoredDigests | undefined;
  // Each page is written while the next one is read and sorted here: PostgreSQL's work on one page
  // overlaps this process's on the next (100,000 accounts with expected values: about 0.15 s less).
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const page of pages) {
      if (fields === undefined) {
        fields = expectedFieldsOf(page.columns, options.rowsFrom);
        loaded.expectations.fields = fields;
        if (fields.length > 0 && !options.unchangedToo)
          stored = StoredDigests.fromPrefixes(await readStoredDigestPrefixes(tx));
      }
      const read: PageRead = { ids: [], expected: [] };
      // Ids whose values this page has taken: the first row's stand (an earlier page's, see writePage).
      const taken = new Set<string>();
      for (const row of page.rows) {
        const classified = classifySourceValue(row[0]);
        if (classified.kind === "null") loaded.nulls += 1;
        else if (classified.kind === "invalid") {
          loaded.invalid += 1;
          if (loaded.invalidExamples.length < MAX_INVALID_NAMED)
            loaded.invalidExamples.push(classified.invalid);
        } else {
          read.ids.push(classified.id);
          if (fields.length > 0) {
            const account = expectationsToLoad(
              loaded.expectations,
              classified.id,
              fields,
              row,
              taken,
              stored,
            );
            if (account !== undefined) read.expected.push(account);
          }
        }
      }
      await writing;
      writing = writePage(tx, loaded, read);
      // Marked as handled now; a failure is rethrown where it is awaited, with the next page or last.
      writing.catch(() => undefined);
    }
    await writing;
  } finally {
    // A read that fails must not leave a write running in the transaction it rolls back.
    await writing.catch(() => undefined);
  }
  return loaded;
}

/** One page's valid ids, repeats included, and the expected values it loads. */
interface PageRead {
  ids: string[];
  expected: LoadedExpectations[];
}

/**
 * Writes one page's ids into the temporary table, counting ids seen before, with the page's expected
 * values, but not those of ids listed by an earlier page: that page's row stands, loaded or not.
 */
async function writePage(tx: Db, loaded: Loaded, { ids, expected }: PageRead): Promise<void> {
  if (ids.length === 0) return;
  const inserted =
    expected.length === 0
      ? await insertSourceIds(tx, ids)
      : await insertSourceIdsWithExpectations(tx, ids, expected);
  loaded.duplicates += ids.length - inserted;
}

/**
 * Checks one row's expected values, counting those that are invalid, and returns them with their
 * digest to be loaded, unless this page already took its id's, or `stored` holds their digest.
 */
function expectationsToLoad(
  loaded: ExpectationsLoaded,
  accountId: string,
  fields: readonly ExpectedField[],
  row: readonly unknown[],
  taken: Set<string>,
  stored: StoredDigests | undefined,
): LoadedExpectations | undefined {
  const { expectations, invalid } = expectationsOfRow(accountId, fields, row);
  loaded.invalid += invalid.length;
  for (const example of invalid) {
    if (loaded.invalidExamples.length < MAX_INVALID_EXPECTED_NAMED) loaded.invalidExamples.push(example);
  }
  if (taken.has(accountId)) return undefined;
  taken.add(accountId);
  const values = JSON.stringify(expectations.expected);
  const digest = expectationsDigest(accountId, values);
  if (stored?.has(digest)) return undefined;
  return { accountId, values, digest: digest.toString("base64url") };
}
