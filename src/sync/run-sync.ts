// One sync run, whoever starts it. The CLI runs the three steps in one process (`runSync`); the queue
// worker runs the same steps as jobs, spread over processes: `startRun` when a fire comes, `runBatch`
// for each batch job, `completeRun` when every batch is done.
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import pLimit, { type LimitFunction } from "p-limit";
import type { AccountSourceSettings } from "../accounts/source/read-source.js";
import type { PrismaClient } from "../db/prisma.js";
import type { Logger } from "../logger.js";
import { type PlugchatClient, PlugchatError } from "../plugchat/index.js";
import type { RunProgress } from "../progress/figures.js";
import { reconcileAccountSource } from "./account-source-step.js";
import type { AccountOutcome } from "./drift.js";
import {
  batchProgress,
  type FinishedRun,
  finishRun,
  heartbeat,
  openRun,
  type RunPlan,
  replanRun,
  stopRun,
  trackedIdsAfter,
  writeBatch,
} from "./store.js";
import { summaryCounts } from "./summary-counts.js";
import type { FetchResult, RunCounts, RunSummary, RunTrigger } from "./types.js";

export interface SyncDependencies {
  prisma: PrismaClient;
  client: PlugchatClient;
  logger: Logger;
  /** ACCOUNT_SOURCE_*: when set, every run first makes the tracked set equal to the source's ids. */
  accountSource?: AccountSourceSettings | undefined;
}

export interface SyncOptions {
  trigger: RunTrigger;
  concurrency: number;
  /** Accounts fetched and written together in one transaction. */
  batchSize?: number;
  /** A running run whose heartbeat is older than this was abandoned by a crashed process. */
  staleRunAfterMs?: number;
  heartbeatEveryMs?: number;
  /** Called once the run is open, then after each written batch (a terminal's progress line). */
  onProgress?: (progress: RunProgress) => void;
  /** Called once every batch is settled, before the run is closed and its summary line logged. */
  beforeClose?: () => void;
}

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_STALE_RUN_AFTER_MS = 5 * 60_000;
/** Batches `runSync` has open at once: one written while the next is fetched (see `runSync`). */
const MAX_OPEN_BATCHES = 2;

/** This process, as `sync_run_batches.written_by` and the queue's worker name record it. */
export const PROCESS_NAME = `${hostname()}:${process.pid}`;

export interface BatchRef {
  runId: number;
  /** The batch's number within its run, from 0. */
  batchIndex: number;
  ids: readonly string[];
}

export interface BatchOptions {
  /** Plugchat requests in flight at once. */
  concurrency: number;
  /**
   * Aborting it stops the batch before it writes anything (the rejection is a `BatchInterruptedError`);
   * once the write has begun, the batch finishes.
   */
  signal?: AbortSignal;
  /**
   * Shared with the other batches this process fetches at once (a worker's overlapping batch jobs):
   * its limit replaces `concurrency`, and a refused token stops every open batch of the run.
   */
  pool?: FetchPool;
}

/**
 * What open batches of one run share: one limiter, so that the limit holds for all of them and not per
 * batch, and one stop, so that a refused token (or, in `runSync`, the end of the run) stops the
 * requests of every open batch.
 */
interface SharedFetch {
  limit: LimitFunction;
  stop: AbortController;
}

/**
 * Requests in flight shared by every batch of a process: one limiter (p-limit is FIFO, so an older
 * batch's requests go first and a newer one's fill its tail), and one stop per run for the batches of
 * that run open at the moment.
 */
export interface FetchPool {
  /** The run's shared fetch for one batch; `release` when the batch is done with it. */
  open(runId: number): { shared: SharedFetch; release(): void };
}

export function createFetchPool(requestsInFlight: number): FetchPool {
  const limit = pLimit(requestsInFlight);
  // Only runs with a batch open are kept, so the map stays as small as the batches in flight.
  const runs = new Map<number, { stop: AbortController; batches: number }>();
  return {
    open(runId) {
      const run = runs.get(runId) ?? { stop: new AbortController(), batches: 0 };
      runs.set(runId, run);
      run.batches++;
      let released = false;
      return {
        shared: { limit, stop: run.stop },
        release() {
          if (released) return;
          released = true;
          if (--run.batches === 0) runs.delete(runId);
        },
      };
    },
  };
}

/**
 * What became of a batch: `written`, or skipped because it was written already (delivered twice),
 * because its run was closed meanwhile, or because another batch stopped the run (token refused).
 */
export type BatchStatus = "written" | "already_written" | "run_closed" | "run_stopped";

export interface BatchResult {
  status: BatchStatus;
  counts: RunCounts;
  unknownFields: Set<string>;
  /** The field of every drift row written, e.g. for metrics. */
  driftFields: string[];
  /** Set when this batch stopped the run (token refused); the reason is recorded on the run. */
  abortReason: string | null;
}

/** The batch was interrupted (shutdown) before it wrote anything: it can be run again from scratch. */
export class BatchInterruptedError extends Error {
  constructor(reason: unknown) {
    super(`batch interrupted before its write: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = "BatchInterruptedError";
  }
}

const NO_COUNTS: RunCounts = {
  accountsTotal: 0,
  accountsChanged: 0,
  accountsUnchanged: 0,
  accountsFailed: 0,
  accountsNotFound: 0,
  driftCount: 0,
};

/** Runs one complete sync in this process and returns the closed run. */
export async function runSync(deps: SyncDependencies, options: SyncOptions): Promise<RunSummary> {
  const { prisma } = deps;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const run = await startRun(deps, options.trigger, options.staleRunAfterMs, batchSize);

  const beat = setInterval(() => {
    heartbeat(prisma, run.runId).catch((error: unknown) =>
      deps.logger.warn({ err: error, runId: run.runId }, "run heartbeat failed"),
    );
  }, options.heartbeatEveryMs ?? 30_000);
  beat.unref();

  // Why batches overlap: one after another, each batch would end with a tail where fewer than
  // `concurrency` requests are in flight (the last slow answers), and no request would go out while the
  // batch is written. So the next batch opens as soon as the previous one has: its requests queue in
  // the limiter the two share (FIFO, so the older batch's go first), fill the older batch's tail, and
  // keep `concurrency` requests going while the older batch is written. At most MAX_OPEN_BATCHES are
  // open, so memory holds two batches whatever the number of accounts. Each batch keeps its own
  // transaction, so a batch is still written whole or not at all, and once only.
  const shared: SharedFetch = { limit: pLimit(options.concurrency), stop: new AbortController() };
  const open: Promise<BatchResult>[] = [];
  const progress: RunProgress = {
    runId: run.runId,
    startedAt: run.startedAt,
    accountsDone: 0,
    ...run.plan,
    batchesDone: 0,
    changed: 0,
    failed: 0,
    notFound: 0,
  };
  options.onProgress?.({ ...progress });
  const settleOldest = async () => {
    const batch = await open.shift();
    if (batch?.status === "written") {
      progress.batchesDone += 1;
      progress.accountsDone += batch.counts.accountsTotal;
      progress.changed += batch.counts.accountsChanged;
      progress.failed += batch.counts.accountsFailed;
      progress.notFound += batch.counts.accountsNotFound;
      deps.logger.debug(
        { runId: run.runId, batches: progress.batchesDone, accounts: batch.counts.accountsTotal },
        "sync batch written",
      );
      options.onProgress?.({ ...progress });
    }
    // A batch that was not written (run closed or stopped meanwhile), or that stopped the run (token
    // refused), ends the run: the other open batch stops too, and no batch opens after it.
    if (batch && (batch.status !== "written" || batch.abortReason !== null)) shared.stop.abort();
  };
  try {
    let afterId: string | null = null;
    for (let batchIndex = 0; !shared.stop.signal.aborted; batchIndex++) {
      const ids = await trackedIdsAfter(prisma, afterId, batchSize);
      if (ids.length === 0) break;
      afterId = ids[ids.length - 1] ?? null;
      const batch = runBatchWith(deps, { runId: run.runId, batchIndex, ids }, options, shared);
      // Awaited in turn below; this only keeps a rejection from counting as unhandled meanwhile.
      batch.catch(() => undefined);
      open.push(batch);
      if (open.length >= MAX_OPEN_BATCHES) await settleOldest();
    }
    while (open.length > 0) await settleOldest();
  } catch (thrown) {
    // Nothing of this run may go on once it is closed: the open batch stops, and is waited for.
    shared.stop.abort();
    await Promise.allSettled(open);
    // Closing the run as failed matters more than this error's details; it is rethrown below.
    const error = `run stopped by an unexpected error: ${(thrown as Error).message}`;
    await completeRun(deps, run.runId, error).catch(() => undefined);
    throw thrown;
  } finally {
    clearInterval(beat);
    options.beforeClose?.();
  }
  return (await completeRun(deps, run.runId)).summary;
}

/**
 * Opens a run (see `openRun`: one at a time, stale ones closed first) and logs it; then, with an
 * account source, reconciles the tracked set before any id is read for the run. Opening the run
 * first means one reconciliation at a time, and none while batches are writing. With `batchSize`,
 * the run records how many batches it plans (its progress shows batches done of that total).
 */
export async function startRun(
  deps: SyncDependencies,
  trigger: RunTrigger,
  staleRunAfterMs = DEFAULT_STALE_RUN_AFTER_MS,
  batchSize?: number,
): Promise<RunSummary & { plan: RunPlan }> {
  const run = await openRun(deps.prisma, trigger, staleRunAfterMs, batchSize);
  deps.logger.info({ runId: run.runId, trigger }, "sync run started");
  if (!deps.accountSource) return run;
  const accountSource = await reconcileAccountSource(deps, run.runId, deps.accountSource);
  // The source may have changed the tracked set the plan was counted from.
  const plan =
    accountSource.outcome === "applied" ? await replanRun(deps.prisma, run.runId, batchSize) : run.plan;
  return { ...run, accountSource, plan };
}

/**
 * Fetches one batch of accounts and writes what changed, in one transaction that also records the
 * batch (`sync_run_batches`): run twice, a batch writes once. Skips quickly when its run is closed or
 * stopping. A refused token records the reason on the run, which stops its other batches.
 */
export async function runBatch(
  deps: SyncDependencies,
  batch: BatchRef,
  options: BatchOptions,
): Promise<BatchResult> {
  if (!options.pool) return runBatchWith(deps, batch, options);
  const { shared, release } = options.pool.open(batch.runId);
  try {
    return await runBatchWith(deps, batch, options, shared);
  } finally {
    release();
  }
}

/** `runBatch`, with the limiter and stop it shares with the other open batches of its run, if any. */
async function runBatchWith(
  deps: SyncDependencies,
  batch: BatchRef,
  options: BatchOptions,
  shared?: SharedFetch,
): Promise<BatchResult> {
  const { prisma } = deps;
  const { runId, batchIndex } = batch;
  const skipped = (status: BatchStatus): BatchResult => ({
    status,
    counts: NO_COUNTS,
    unknownFields: new Set(),
    driftFields: [],
    abortReason: null,
  });
  const progress = await batchProgress(prisma, runId, batchIndex);
  if (progress.runStatus !== "running") return skipped("run_closed");
  if (progress.stopReason !== null) return skipped("run_stopped");
  if (progress.written) return skipped("already_written");

  const { results, abortReason } = await fetchAccounts(deps.client, batch.ids, options, shared);
  // Another open batch of the run stopped it (token refused, or an error) and cut this one's fetch
  // short: it writes nothing, as a batch starting after the stop would. (A batch fetched whole is written.)
  const cutShort = results.length < batch.ids.length;
  if (shared?.stop.signal.aborted && abortReason === null && cutShort) return skipped("run_stopped");
  if (abortReason) await stopRun(prisma, runId, abortReason);
  const unknownFields = new Set(
    results.flatMap((result) => (result.kind === "ok" ? result.unknownFields : [])),
  );
  const written = await writeBatch(prisma, runId, results, {
    index: batchIndex,
    unknownFields: [...unknownFields],
    writtenBy: PROCESS_NAME,
  });
  if (written === "already_written" || written === "run_closed") return skipped(written);
  // Logged after the commit, so a log line never tells of a change the database does not hold.
  logOutcomes(deps.logger.child({ runId }), written.outcomes);
  const driftFields = written.outcomes.flatMap((outcome) =>
    "changes" in outcome ? outcome.changes.map((change) => change.field) : [],
  );
  return { status: "written", counts: written.counts, unknownFields, driftFields, abortReason };
}

/**
 * Closes a run (exactly once: see `finishRun`) and logs its summary. `closed` is false when the run
 * was closed already, by another process or an earlier attempt; nothing is logged then.
 */
export async function completeRun(
  deps: SyncDependencies,
  runId: number,
  error: string | null = null,
): Promise<FinishedRun> {
  const finished = await finishRun(deps.prisma, runId, { error });
  if (!finished.closed) return finished;
  const runLogger = deps.logger.child({ runId });
  const { summary } = finished;
  if (summary.unknownFields.length > 0) {
    runLogger.warn(
      { fields: summary.unknownFields },
      "Plugchat answered with fields this version does not know: the API changed; they are ignored",
    );
  }
  logSummary(runLogger, summary);
  return finished;
}

async function fetchAccounts(
  client: PlugchatClient,
  ids: readonly string[],
  options: BatchOptions,
  shared?: SharedFetch,
): Promise<{ results: FetchResult[]; abortReason: string | null }> {
  const limit = shared?.limit ?? pLimit(options.concurrency);
  // Two stops: the run's (shared with its other open batches: a refused token stops them all), and
  // this batch's own (an infrastructure error fails this batch only; it is retried, the others go on).
  const runStop = shared?.stop ?? new AbortController();
  const batchStop = new AbortController();
  const signal = AbortSignal.any([
    runStop.signal,
    batchStop.signal,
    ...(options.signal ? [options.signal] : []),
  ]);
  // One signal fans out to every request of the batch: each adds a listener, none of them leaks.
  setMaxListeners(0, runStop.signal, signal);
  let abortReason: string | null = null;
  /** An error that is no account's fault (the shared rate limiter unreachable): the batch is retried. */
  let infrastructureError: unknown = null;
  const settled = await Promise.all(
    ids.map((id) =>
      limit(async (): Promise<FetchResult | null> => {
        if (signal.aborted) return null;
        try {
          const fetched = await client.getAccount(id, { signal });
          return { id, kind: "ok", account: fetched.account, unknownFields: fetched.unknownFields };
        } catch (error) {
          if (signal.aborted) return null;
          if (error instanceof PlugchatError && error.kind === "not_found") return { id, kind: "not_found" };
          if (error instanceof PlugchatError && error.kind === "unauthorized") {
            abortReason = `${error.message}; the run stopped (every account would fail the same way)`;
            runStop.abort();
            return null;
          }
          if (isInfrastructureError(error)) {
            infrastructureError ??= error;
            batchStop.abort();
            return null;
          }
          return { id, kind: "failed", error: shortError(error) };
        }
      }),
    ),
  );
  if (options.signal?.aborted) throw new BatchInterruptedError(options.signal.reason);
  if (infrastructureError !== null) throw infrastructureError;
  return { results: settled.filter((result) => result !== null), abortReason };
}

/** Errors whose `code` says the request was never sent for a reason outside Plugchat. */
function isInfrastructureError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "RATE_LIMITER_UNAVAILABLE";
}

function shortError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}

/**
 * Per-account lines only where there is news, so that a run of 100,000 accounts logs what changed and
 * not every account: drift at info (one line per field), a failure or a disappearance at warn (once:
 * an account that stays missing is logged at debug on the next runs), a first fetch at debug.
 */
function logOutcomes(logger: Logger, outcomes: readonly AccountOutcome[]): void {
  for (const outcome of outcomes) {
    const accountId = outcome.id;
    if (outcome.kind === "baseline") logger.debug({ accountId }, "account baseline");
    if (outcome.kind === "changed") {
      for (const { field, from, to } of outcome.changes)
        logger.info({ accountId, field, from, to }, "account drift");
    }
    if (outcome.kind === "not_found") {
      const [exists] = outcome.changes;
      if (exists) {
        const { field, from, to } = exists;
        logger.warn({ accountId, field, from, to }, "account disappeared from Plugchat (404)");
      } else if (outcome.newlyMissing) {
        logger.warn({ accountId }, "account not found on Plugchat (404): never seen there");
      } else {
        logger.debug({ accountId }, "account still not found on Plugchat (404)");
      }
    }
    if (outcome.kind === "failed") logger.warn({ accountId, error: outcome.error }, "account sync failed");
  }
}

function logSummary(logger: Logger, summary: RunSummary): void {
  const level = summary.status === "succeeded" ? "info" : summary.status === "partial" ? "warn" : "error";
  logger[level](
    {
      status: summary.status,
      trigger: summary.trigger,
      ...summaryCounts(summary),
      durationMs: summary.finishedAt ? summary.finishedAt.getTime() - summary.startedAt.getTime() : null,
      ...(summary.error ? { error: summary.error } : {}),
      ...(summary.accountSource ? { accountSource: summary.accountSource.outcome } : {}),
    },
    "sync run finished",
  );
}
