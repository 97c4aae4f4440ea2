// A whole run in this process (`plugchat-sync sync`, the demo): open it, run its batches two at a
// time, close it. The queue worker runs the same steps as jobs instead (src/queue/processors).
import { trackedIdsAfter } from "../db/sql/accounts.js";
import { heartbeat } from "../db/sql/runs.js";
import { sleep } from "../lib/sleep.js";
import { oneLine } from "../lib/text.js";
import type { RunProgress } from "../progress/figures.js";
import { type BatchResult, runBatch } from "./batch.js";
import { nextBatchSize } from "./batch-sizes.js";
import { FetchSlots } from "./fetch-slots.js";
import { FetchedAccountsReporter } from "./fetched-accounts.js";
import { DEFAULT_OUTAGE_SETTINGS } from "./outage-detector.js";
import { OutageGate } from "./outage-gate.js";
import { completeRun, startRun } from "./run-lifecycle.js";
import type { RunFetchShare } from "./shared-fetch-limit.js";
import { addCounts, NO_COUNTS } from "./summary-counts.js";
import type { RunCounts, RunPlan, RunSummary, RunTrigger, SyncDependencies } from "./types.js";

export interface SyncOptions {
  trigger: RunTrigger;
  concurrency: number;
  /** Accounts fetched and written together in one transaction. */
  batchSize?: number;
  /** A running run whose heartbeat is older than this was abandoned by a crashed process. */
  staleRunAfterMs?: number;
  heartbeatEveryMs?: number;
  /**
   * Called once the run is open, then as each account is fetched and after each written batch (a
   * terminal's progress line): `accountsDone` counts the accounts fetched, the other counts are those
   * of the batches written.
   */
  onProgress?: (progress: RunProgress) => void;
  /** Called once every batch is settled, before the run is closed and its summary line logged. */
  beforeClose?: () => void;
  /**
   * Aborting it interrupts the run: its requests stop, a batch being written finishes (one fetched
   * whole is written), no batch opens after it, and the run is closed as `interrupted`, its error
   * `interrupted by <reason>` (give the signal's name as the abort reason).
   */
  stop?: AbortSignal;
}

const DEFAULT_BATCH_SIZE = 500;

/** Runs one complete sync in this process and returns the closed run. */
export async function runSync(deps: SyncDependencies, options: SyncOptions): Promise<RunSummary> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const run = await startRun(deps, options.trigger, { staleRunAfterMs: options.staleRunAfterMs, batchSize });
  const beat = setInterval(() => {
    heartbeat(deps.prisma, run.runId).catch((error: unknown) =>
      deps.logger.warn({ err: error, runId: run.runId }, "run heartbeat failed"),
    );
  }, options.heartbeatEveryMs ?? 30_000);
  beat.unref();
  const batches = new OverlappingBatches(deps, run, options);
  const interrupt = () => batches.stopRequests();
  options.stop?.addEventListener("abort", interrupt, { once: true });
  if (options.stop?.aborted) interrupt();
  try {
    await batches.runAll(batchSize);
  } catch (thrown) {
    // Nothing of this run may go on once it is closed: the open batch stops, and is waited for.
    await batches.stop();
    // Closing the run as failed matters more than this error's details; it is rethrown below.
    // The run's error column and summary line: the error's own words (a lost database, mostly).
    const error = `run stopped by an error: ${oneLine((thrown as Error).message)}`;
    await closeFailedRun(deps, run.runId, error);
    throw thrown;
  } finally {
    options.stop?.removeEventListener("abort", interrupt);
    clearInterval(beat);
    options.beforeClose?.();
  }
  if (options.stop?.aborted) {
    const reason = options.stop.reason;
    const error = `interrupted by ${typeof reason === "string" ? reason : "a stop request"}`;
    return (await completeRun(deps, run.runId, error, { interrupted: true })).summary;
  }
  return (await completeRun(deps, run.runId)).summary;
}

/** How long a run that failed is tried to be closed, when the failure was the database going away. */
const CLOSE_FAILED_RUN_FOR_MS = 10_000;

/**
 * Closes a failed run, trying again for a few seconds: the failure may be the database going away,
 * and a server back within seconds (the embedded one is started again at once) lets the run be closed
 * now rather than left running until it is closed as abandoned minutes later.
 */
async function closeFailedRun(deps: SyncDependencies, runId: number, error: string): Promise<void> {
  const deadline = Date.now() + CLOSE_FAILED_RUN_FOR_MS;
  for (;;) {
    try {
      await completeRun(deps, runId, error);
      return;
    } catch {
      if (Date.now() > deadline) return;
      await sleep(1_000);
    }
  }
}

/** Batches `runSync` has open at once: one written while the next is fetched. */
const MAX_OPEN_BATCHES = 2;

/**
 * The batches of one run, overlapping. One after another, each batch would end with a stretch where
 * fewer than `concurrency` requests are in flight (its last slow answers), and no request would go out
 * while the batch is written. So the next batch opens as soon as the previous one has: its requests
 * wait for the slots the two share (fetch-slots.ts: the older batch's go first), fill the older batch's
 * last stretch, and keep `concurrency` requests going while the older batch is written. At most
 * MAX_OPEN_BATCHES are open, so memory holds two batches whatever the number of accounts. Each batch
 * keeps its own transaction, so a batch is still written whole or not at all, and once only.
 */
class OverlappingBatches {
  readonly #share: RunFetchShare;
  readonly #open: Promise<BatchResult>[] = [];
  #counts: RunCounts = NO_COUNTS;
  #batchesDone = 0;
  /** Accounts fetched so far, written or not: progress moves per account, not per batch. */
  #fetched = 0;
  /** The same, for readers of the database (a worker's status page showing this run). */
  readonly #reporter: FetchedAccountsReporter;

  constructor(
    private readonly deps: SyncDependencies,
    private readonly run: RunSummary & { plan: RunPlan },
    private readonly options: SyncOptions,
  ) {
    this.#share = {
      slots: new FetchSlots(options.concurrency),
      stop: new AbortController(),
      outage: new OutageGate(
        deps.outage ?? DEFAULT_OUTAGE_SETTINGS,
        deps.logger.child({ runId: run.runId }),
        options.concurrency,
      ),
    };
    this.#reporter = new FetchedAccountsReporter(deps.prisma, deps.logger);
    options.onProgress?.(this.#progress());
  }

  async runAll(batchSize: number): Promise<void> {
    const { runId } = this.run;
    let afterId: string | null = null;
    let remaining = this.run.plan.accountsPlanned;
    for (let batchIndex = 0; !this.#share.stop.signal.aborted; batchIndex++) {
      const ids = await trackedIdsAfter(this.deps.prisma, afterId, nextBatchSize(remaining, batchSize));
      remaining -= ids.length;
      if (ids.length === 0) break;
      afterId = ids[ids.length - 1] ?? null;
      const batch = runBatch(
        this.deps,
        { runId, batchIndex, ids },
        { concurrency: this.options.concurrency, onFetched: () => this.#accountFetched() },
        this.#share,
      );
      // Awaited in turn below; this only keeps a rejection from counting as unhandled meanwhile.
      batch.catch(() => undefined);
      this.#open.push(batch);
      if (this.#open.length >= MAX_OPEN_BATCHES) await this.#settleOldest();
    }
    while (this.#open.length > 0) await this.#settleOldest();
    this.#reporter.discard();
  }

  /** Stops the open batches' requests (a batch fetched whole is still written); opens no batch more. */
  stopRequests(): void {
    this.#share.stop.abort();
  }

  /** Stops the open batches' requests and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopRequests();
    await Promise.allSettled(this.#open);
    this.#reporter.discard();
  }

  async #settleOldest(): Promise<void> {
    const batch = await this.#open.shift();
    if (batch?.status === "written") {
      this.#batchesDone += 1;
      this.#counts = addCounts(this.#counts, batch.counts);
      this.deps.logger.debug(
        { runId: this.run.runId, batches: this.#batchesDone, accounts: batch.counts.accountsTotal },
        "sync batch written",
      );
      this.options.onProgress?.(this.#progress());
    }
    // A batch that was not written (run closed or stopped meanwhile), or that stopped the run (token
    // refused), ends the run: the other open batch stops too, and no batch opens after it.
    if (batch && (batch.status !== "written" || batch.stopReason !== null)) this.#share.stop.abort();
  }

  #accountFetched(): void {
    this.#fetched += 1;
    this.#reporter.fetched(this.run.runId);
    this.options.onProgress?.(this.#progress());
  }

  #progress(): RunProgress {
    return {
      runId: this.run.runId,
      startedAt: this.run.startedAt,
      ...this.run.plan,
      // Every account written was fetched first, but for one deleted meanwhile (written as nothing).
      accountsDone: Math.max(this.#counts.accountsTotal, this.#fetched),
      batchesDone: this.#batchesDone,
      changed: this.#counts.accountsChanged,
      failed: this.#counts.accountsFailed,
      notFound: this.#counts.accountsNotFound,
    };
  }
}
