// One sync run, whoever starts it: the CLI now, the queue worker by batches.
import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import type { PrismaClient } from "../db/prisma.js";
import type { Logger } from "../logger.js";
import { type PlugchatClient, PlugchatError } from "../plugchat/index.js";
import type { AccountOutcome } from "./drift.js";
import { finishRun, heartbeat, openRun, trackedIdsAfter, writeBatch } from "./store.js";
import type { FetchResult, RunCounts, RunSummary, RunTrigger } from "./types.js";

export interface SyncDependencies {
  prisma: PrismaClient;
  client: PlugchatClient;
  logger: Logger;
}

export interface SyncOptions {
  trigger: RunTrigger;
  concurrency: number;
  /** Accounts fetched and written together in one transaction. */
  batchSize?: number;
  /** A running run whose heartbeat is older than this was abandoned by a crashed process. */
  staleRunAfterMs?: number;
  heartbeatEveryMs?: number;
}

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_STALE_RUN_AFTER_MS = 5 * 60_000;

export interface BatchResult {
  counts: RunCounts;
  unknownFields: Set<string>;
  /** Set when the run must stop (token refused). */
  abortReason: string | null;
}

/** Runs one complete sync in this process and returns the closed run. */
export async function runSync(deps: SyncDependencies, options: SyncOptions): Promise<RunSummary> {
  const { prisma, logger } = deps;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const run = await openRun(prisma, options.trigger, options.staleRunAfterMs ?? DEFAULT_STALE_RUN_AFTER_MS);
  const runLogger = logger.child({ runId: run.runId });
  runLogger.info({ trigger: options.trigger }, "sync run started");

  const beat = setInterval(() => {
    heartbeat(prisma, run.runId).catch((error: unknown) =>
      runLogger.warn({ err: error }, "run heartbeat failed"),
    );
  }, options.heartbeatEveryMs ?? 30_000);
  beat.unref();

  const unknownFields = new Set<string>();
  let error: string | null = null;
  try {
    let afterId: string | null = null;
    for (;;) {
      const ids = await trackedIdsAfter(prisma, afterId, batchSize);
      if (ids.length === 0) break;
      afterId = ids[ids.length - 1] ?? null;
      const batch = await syncBatch(deps, run.runId, ids, options.concurrency);
      for (const field of batch.unknownFields) unknownFields.add(field);
      if (batch.abortReason) {
        error = batch.abortReason;
        break;
      }
    }
  } catch (thrown) {
    // Closing the run as failed matters more than this error's details; it is rethrown below.
    error = `run stopped by an unexpected error: ${(thrown as Error).message}`;
    await finishRun(prisma, run.runId, { error, unknownFields: [...unknownFields] }).catch(() => undefined);
    throw thrown;
  } finally {
    clearInterval(beat);
  }

  if (unknownFields.size > 0) {
    runLogger.warn(
      { fields: [...unknownFields].sort() },
      "Plugchat answered with fields this version does not know: the API changed; they are ignored",
    );
  }
  const summary = await finishRun(prisma, run.runId, { error, unknownFields: [...unknownFields] });
  logSummary(runLogger, summary);
  return summary;
}

/**
 * Fetches one batch of accounts and writes what changed. Shared by the in-process run and the queue
 * worker's batch jobs.
 */
export async function syncBatch(
  deps: SyncDependencies,
  runId: number,
  ids: readonly string[],
  concurrency: number,
): Promise<BatchResult> {
  const { results, abortReason } = await fetchAccounts(deps.client, ids, concurrency);
  const unknownFields = new Set(
    results.flatMap((result) => (result.kind === "ok" ? result.unknownFields : [])),
  );
  const { outcomes, counts } = await writeBatch(deps.prisma, runId, results);
  // Logged after the commit, so a log line never tells of a change the database does not hold.
  logOutcomes(deps.logger.child({ runId }), outcomes);
  return { counts, unknownFields, abortReason };
}

async function fetchAccounts(
  client: PlugchatClient,
  ids: readonly string[],
  concurrency: number,
): Promise<{ results: FetchResult[]; abortReason: string | null }> {
  const limit = pLimit(concurrency);
  const stop = new AbortController();
  // One signal fans out to every request of the batch: each adds a listener, none of them leaks.
  setMaxListeners(0, stop.signal);
  let abortReason: string | null = null;
  const settled = await Promise.all(
    ids.map((id) =>
      limit(async (): Promise<FetchResult | null> => {
        if (stop.signal.aborted) return null;
        try {
          const fetched = await client.getAccount(id, { signal: stop.signal });
          return { id, kind: "ok", account: fetched.account, unknownFields: fetched.unknownFields };
        } catch (error) {
          if (stop.signal.aborted) return null;
          if (error instanceof PlugchatError && error.kind === "not_found") return { id, kind: "not_found" };
          if (error instanceof PlugchatError && error.kind === "unauthorized") {
            abortReason = `${error.message}; the run stopped (every account would fail the same way)`;
            stop.abort();
            return null;
          }
          return { id, kind: "failed", error: shortError(error) };
        }
      }),
    ),
  );
  return { results: settled.filter((result) => result !== null), abortReason };
}

function shortError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}

function logOutcomes(logger: Logger, outcomes: readonly AccountOutcome[]): void {
  for (const outcome of outcomes) {
    const accountId = outcome.id;
    if (outcome.kind === "baseline") logger.info({ accountId }, "account baseline");
    if (outcome.kind === "changed" || outcome.kind === "not_found") {
      for (const { field, from, to } of outcome.changes)
        logger.info({ accountId, field, from, to }, "account drift");
    }
    if (outcome.kind === "not_found") logger.warn({ accountId }, "account not found on Plugchat (404)");
    if (outcome.kind === "failed") logger.warn({ accountId, error: outcome.error }, "account sync failed");
  }
}

function logSummary(logger: Logger, summary: RunSummary): void {
  const level = summary.status === "succeeded" ? "info" : summary.status === "partial" ? "warn" : "error";
  logger[level](
    {
      status: summary.status,
      total: summary.accountsTotal,
      changed: summary.accountsChanged,
      unchanged: summary.accountsUnchanged,
      failed: summary.accountsFailed,
      notFound: summary.accountsNotFound,
      drift: summary.driftCount,
      durationMs: summary.finishedAt ? summary.finishedAt.getTime() - summary.startedAt.getTime() : null,
      ...(summary.error ? { error: summary.error } : {}),
    },
    "sync run finished",
  );
}
