// Prometheus metrics of the worker, in a registry of their own (never prom-client's global one).
// Label values come from small fixed sets only (statuses, outcomes, field names, HTTP statuses and
// error codes), never from account ids or messages, so the number of series stays bounded.
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { type Logger, silentLogger } from "../logger.js";
import type { AttemptInfo } from "../plugchat/index.js";
import {
  RUN_TRIGGERS,
  type RunCounts,
  type RunStatus,
  type RunSummary,
  type RunTrigger,
} from "../sync/types.js";
import { type DeploymentSources, registerDeploymentGauges } from "./deployment-gauges.js";
import { fieldLabel } from "./field-label.js";
import { type MismatchCountsSource, registerMismatchGauge } from "./mismatch-gauge.js";
import { cachedSource, registerSourcedGauge, type Source } from "./sourced-gauge.js";

/** Job counts by state (waiting, active, delayed, failed...), e.g. from BullMQ's `queue.getJobCounts()`. */
type QueueDepthSource = Source<Record<string, number>>;

export interface Metrics {
  /** The registry to scrape: `registry.metrics()` and `registry.contentType`. */
  readonly registry: Registry;
  /**
   * A run has finished: counts it by status, observes its duration, and counts what its account
   * source did. Not its accounts: see observeBatch.
   */
  observeRun(summary: RunSummary): void;
  /**
   * Accounts of one batch by outcome and, when known, one drift event per entry of `driftFields`
   * (field names, repeated). A worker running whole runs in one go can pass the run's summary.
   */
  observeBatch(counts: RunCounts, driftFields?: readonly string[]): void;
  /** Drift events counted by field, e.g. `loadNotificationDetails(...).driftByField` at the end of a run. */
  observeDrift(driftByField: Readonly<Record<string, number>>): void;
  /** Plug straight into the Plugchat client's `onAttempt` (a bound function). */
  onAttempt(info: AttemptInfo): void;
  /** A scheduled run was skipped because the previous one was still going. */
  skippedRunStart(): void;
  /** A run left by a dead process (its heartbeat stale) was closed as abandoned by this process. */
  abandonedRun(run: { trigger: RunTrigger }): void;
  /** Where `plugchat_sync_queue_jobs` is read from at each scrape; null to stop. */
  setQueueDepthSource(source: QueueDepthSource | null): void;
  /**
   * Where `plugchat_sync_mismatches` is read from (the database's view); null to stop. Read at most
   * once per `mismatchCacheMs`, however many scrapes come.
   */
  setMismatchSource(source: MismatchCountsSource | null): void;
  /**
   * Where the deployment gauges (accounts by state, runs by status, the last success, the account
   * source's last outcome, the database up) are read from; null to stop. Each source is read at most
   * once per `deploymentCacheMs`, however many scrapes come.
   */
  setDeploymentSources(sources: DeploymentSources | null): void;
}

export interface MetricsOptions {
  /** Where a failing queue-depth source is reported (debug). */
  logger?: Logger;
  /** Longest wait for the queue-depth source during a scrape; default 2000 ms. */
  queueDepthTimeoutMs?: number;
  /** Longest wait for the mismatch counts (a database query) during a scrape; default 2000 ms. */
  mismatchTimeoutMs?: number;
  /** How long one reading of the mismatch counts serves scrapes; default 5000 ms. */
  mismatchCacheMs?: number;
  /** Longest wait for each deployment figure (a database query) during a scrape; default 2000 ms. */
  deploymentTimeoutMs?: number;
  /** How long one reading of the deployment figures serves scrapes; default 5000 ms. */
  deploymentCacheMs?: number;
}

const RUN_STATUSES: readonly RunStatus[] = ["succeeded", "partial", "failed"];
const SOURCE_OUTCOMES = ["applied", "refused", "skipped"] as const;
const SOURCE_CHANGES = ["added", "retracked", "removed", "invalid"] as const;
const OUTCOMES = ["changed", "unchanged", "failed", "not_found"] as const;

export function createMetrics(options: MetricsOptions = {}): Metrics {
  return new PrometheusMetrics(options);
}

class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #series: ReturnType<typeof registerSeries>;
  readonly #options: MetricsOptions;
  #queueDepthSource: QueueDepthSource | null = null;
  #mismatchSource: MismatchCountsSource | null = null;
  #deploymentSources: DeploymentSources | null = null;

  constructor(options: MetricsOptions) {
    this.#options = options;
    // In this order, the scrape lists the process's series first, as it always has.
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which `promtool check metrics` refuses; their per-type
    // breakdowns (nodejs_active_handles{type}...) stay.
    for (const name of [
      "nodejs_active_handles_total",
      "nodejs_active_requests_total",
      "nodejs_active_resources_total",
    ]) {
      this.registry.removeSingleMetric(name);
    }
    this.#series = registerSeries(this.registry);
    const logger = options.logger ?? silentLogger;
    registerQueueDepth(this.registry, { source: () => this.#queueDepthSource, logger });
    registerMismatchGauge(this.registry, { source: () => this.#mismatchSource, logger });
    registerDeploymentGauges(this.registry, { sources: () => this.#deploymentSources, logger });
  }

  observeRun(summary: RunSummary): void {
    const { runs, runDuration, sourceRuns, sourceIds } = this.#series;
    runs.inc({ status: summary.status });
    if (summary.finishedAt) {
      runDuration.observe(Math.max(0, summary.finishedAt.getTime() - summary.startedAt.getTime()) / 1000);
    }
    const source = summary.accountSource;
    if (source) {
      sourceRuns.inc({ outcome: source.outcome });
      for (const change of SOURCE_CHANGES) sourceIds.inc({ change }, source[change]);
    }
  }

  observeBatch(counts: RunCounts, driftFields: readonly string[] = []): void {
    const { accounts, drift } = this.#series;
    accounts.inc({ outcome: "changed" }, counts.accountsChanged);
    accounts.inc({ outcome: "unchanged" }, counts.accountsUnchanged);
    accounts.inc({ outcome: "failed" }, counts.accountsFailed);
    accounts.inc({ outcome: "not_found" }, counts.accountsNotFound);
    for (const field of driftFields) drift.inc({ field: fieldLabel(field) });
  }

  observeDrift(driftByField: Readonly<Record<string, number>>): void {
    for (const [field, count] of Object.entries(driftByField)) {
      if (count > 0) this.#series.drift.inc({ field: fieldLabel(field) }, count);
    }
  }

  readonly onAttempt = (info: AttemptInfo): void => {
    const status = statusLabel(info);
    this.#series.requestDuration.observe({ status }, Math.max(0, info.durationMs) / 1000);
    if (info.attempt > 1) this.#series.retries.inc({ status });
  };

  skippedRunStart(): void {
    this.#series.skippedRunStarts.inc();
  }

  abandonedRun(run: { trigger: RunTrigger }): void {
    this.#series.abandonedRuns.inc({ trigger: run.trigger });
  }

  setQueueDepthSource(source: QueueDepthSource | null): void {
    // The source has a cache of its own (shared with the status page): only a timeout here.
    this.#queueDepthSource =
      source && cachedSource(source, { cacheMs: 0, timeoutMs: this.#options.queueDepthTimeoutMs ?? 2000 });
  }

  setMismatchSource(source: MismatchCountsSource | null): void {
    this.#mismatchSource =
      source &&
      cachedSource(source, {
        cacheMs: this.#options.mismatchCacheMs ?? 5000,
        timeoutMs: this.#options.mismatchTimeoutMs ?? 2000,
      });
  }

  setDeploymentSources(sources: DeploymentSources | null): void {
    const cache = {
      cacheMs: this.#options.deploymentCacheMs ?? 5000,
      timeoutMs: this.#options.deploymentTimeoutMs ?? 2000,
    };
    this.#deploymentSources = sources && {
      accounts: cachedSource(sources.accounts, cache),
      runs: cachedSource(sources.runs, cache),
      ping: cachedSource(sources.ping, cache),
      database: sources.database,
    };
  }
}

/** The worker's series in `registry`; those with a fixed set of labels start at 0 for each. */
function registerSeries(registry: Registry) {
  const runs = new Counter({
    name: "plugchat_sync_runs_total",
    help: "Sync runs finished, by final status (succeeded, partial, failed).",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: "plugchat_sync_run_duration_seconds",
    help: "Duration of finished sync runs, from start to finish.",
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [registry],
  });
  const sourceRuns = new Counter({
    name: "plugchat_sync_account_source_total",
    help: "Account source reconciliations at the start of a run, by outcome (applied, refused by the removal limit, skipped: source unreachable or query failed).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const sourceIds = new Counter({
    name: "plugchat_sync_account_source_ids_total",
    help: "Ids the account source changed, by change (added, retracked, removed), and values it returned that are not ids (invalid).",
    labelNames: ["change"] as const,
    registers: [registry],
  });
  const accounts = new Counter({
    name: "plugchat_sync_accounts_total",
    help: "Accounts synced, by outcome (changed, unchanged, failed, not_found).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const drift = new Counter({
    name: "plugchat_sync_drift_events_total",
    help: "Drift rows recorded, by field (the API's field name, or exists).",
    labelNames: ["field"] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: "plugchat_sync_plugchat_request_duration_seconds",
    help: "Duration of HTTP attempts to Plugchat, by HTTP status or, without an answer, error code.",
    labelNames: ["status"] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const retries = new Counter({
    name: "plugchat_sync_plugchat_retries_total",
    help: "Plugchat attempts that were retries (attempt 2 and later), by the HTTP status or error code they got.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const skippedRunStarts = new Counter({
    name: "plugchat_sync_skipped_fires_total",
    help: "Scheduled fires skipped because a run was still going.",
    registers: [registry],
  });
  const abandonedRuns = new Counter({
    name: "plugchat_sync_runs_abandoned_total",
    help: "Runs left running by a dead process (crash, kill) that this worker closed as failed once their heartbeat was stale, by trigger (schedule, manual, cli).",
    labelNames: ["trigger"] as const,
    registers: [registry],
  });
  // Series that exist from the start at 0, so that rate() and absent() work before the first event.
  for (const status of RUN_STATUSES) runs.inc({ status }, 0);
  for (const trigger of RUN_TRIGGERS) abandonedRuns.inc({ trigger }, 0);
  for (const outcome of OUTCOMES) accounts.inc({ outcome }, 0);
  for (const outcome of SOURCE_OUTCOMES) sourceRuns.inc({ outcome }, 0);
  for (const change of SOURCE_CHANGES) sourceIds.inc({ change }, 0);
  return {
    runs,
    runDuration,
    sourceRuns,
    sourceIds,
    accounts,
    drift,
    requestDuration,
    retries,
    skippedRunStarts,
    abandonedRuns,
  };
}

/** `plugchat_sync_queue_jobs`, read from the current source at each scrape. */
function registerQueueDepth(
  registry: Registry,
  options: { source: () => QueueDepthSource | null; logger: Logger },
): void {
  registerSourcedGauge(registry, {
    name: "plugchat_sync_queue_jobs",
    help: "Jobs in the sync queues, by state (waiting, active, delayed, prioritized, waiting-children, failed); the same on every worker.",
    labelNames: ["state"] as const,
    source: options.source,
    logger: options.logger,
    unavailable: "queue depth unavailable for metrics",
    show(gauge, depths) {
      for (const [state, count] of Object.entries(depths)) {
        if (/^[a-z][a-z-]{0,31}$/.test(state) && Number.isFinite(count)) gauge.set({ state }, count);
      }
    },
  });
}

/** The HTTP status, or the error code of an attempt without an answer; anything odd becomes "other". */
function statusLabel(info: Pick<AttemptInfo, "status" | "code">): string {
  if (info.status !== null) {
    return Number.isInteger(info.status) && info.status >= 100 && info.status <= 599
      ? String(info.status)
      : "other";
  }
  return info.code !== null && /^[A-Z][A-Z0-9_]{0,39}$/.test(info.code) ? info.code : "other";
}
