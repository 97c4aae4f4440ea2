// Gauges that describe the deployment rather than one process: accounts by state, runs by status, the
// last successful run, what the account source last did, and whether the sync database answers. Read
// from the database (the same figures on every worker, runs of `sync` included), at most once per
// cache period however many scrapes come; a failing read shows no values, never stale ones.
import { Gauge, type Registry } from "prom-client";
import { ACCOUNT_STATES, type RunFigures } from "../db/sql/deployment.js";
import type { Logger } from "../logger.js";
import type { RunStatus } from "../sync/types.js";
import { registerSourcedGauge, type Source } from "./sourced-gauge.js";

export interface DeploymentSources {
  /** Tracked accounts by state, e.g. `accountsByState` of src/db/sql/deployment.ts. */
  accounts: Source<readonly { state: string; accounts: number }[]>;
  /** Runs by status and the last source outcome, e.g. `runFigures` of src/db/sql/deployment.ts. */
  runs: Source<RunFigures>;
  /** Resolves when the sync database answers. */
  ping: Source<unknown>;
  /** The embedded server's database, or DATABASE_URL's. */
  database: "embedded" | "external";
}

const RECORDED_STATUSES = [
  "running",
  "succeeded",
  "partial",
  "failed",
  "interrupted",
] as const satisfies readonly RunStatus[];
const CLOSED_STATUSES = RECORDED_STATUSES.filter((status) => status !== "running");
/** A run that synced its accounts; one with failed accounts (partial) too, as they have an alert of their own. */
const SUCCESS_STATUSES: readonly string[] = ["succeeded", "partial"];
const SOURCE_OUTCOMES = ["applied", "refused", "skipped"] as const;

/** Registers the deployment gauges in `registry`, read from the current sources at each scrape. */
export function registerDeploymentGauges(
  registry: Registry,
  options: { sources: () => DeploymentSources | null; logger: Logger },
): void {
  const { logger } = options;
  const accounts = () => options.sources()?.accounts ?? null;
  const runs = () => options.sources()?.runs ?? null;
  registerSourcedGauge(registry, {
    name: "plugchat_sync_tracked_accounts",
    help: "Tracked accounts by state: active, inactive (found on Plugchat, by its active flag), failing (last fetch failed), missing (404), pending (never fetched); the same on every worker.",
    labelNames: ["state"] as const,
    source: accounts,
    logger,
    unavailable: "account states unavailable for metrics",
    show(gauge, rows) {
      const counts = new Map<string, number>(ACCOUNT_STATES.map((state) => [state, 0]));
      for (const { state, accounts } of rows) {
        if (counts.has(state)) counts.set(state, (counts.get(state) ?? 0) + accounts);
      }
      for (const [state, count] of counts) gauge.set({ state }, count);
    },
  });
  registerSourcedGauge(registry, {
    name: "plugchat_sync_recorded_runs",
    help: "Runs in the database (kept RETENTION_DAYS), by status (running, succeeded, partial, failed, interrupted), whoever ran them, `sync` included; the same on every worker.",
    labelNames: ["status"] as const,
    source: runs,
    logger,
    unavailable: "runs unavailable for metrics",
    show(gauge, figures) {
      for (const status of RECORDED_STATUSES) gauge.set({ status }, runsOf(figures, status));
    },
  });
  registerSourcedGauge(registry, {
    name: "plugchat_sync_last_run_timestamp_seconds",
    help: "When the last run of each final status (succeeded, partial, failed, interrupted) closed, in seconds since the epoch; 0: none kept.",
    labelNames: ["status"] as const,
    source: runs,
    logger,
    unavailable: "runs unavailable for metrics",
    show(gauge, figures) {
      for (const status of CLOSED_STATUSES) gauge.set({ status }, lastFinishedOf(figures, [status]));
    },
  });
  registerSourcedGauge(registry, {
    name: "plugchat_sync_last_success_timestamp_seconds",
    help: "When the last run that synced its accounts (succeeded or partial) closed, in seconds since the epoch; 0: none kept.",
    labelNames: [] as const,
    source: runs,
    logger,
    unavailable: "runs unavailable for metrics",
    show(gauge, figures) {
      gauge.set(lastFinishedOf(figures, SUCCESS_STATUSES));
    },
  });
  registerSourcedGauge(registry, {
    name: "plugchat_sync_account_source_last_outcome",
    help: "What the account source did for the latest run that read it: 1 for its outcome (applied, refused by the removal limit, skipped), 0 for the others; all 0 without a source.",
    labelNames: ["outcome"] as const,
    source: runs,
    logger,
    unavailable: "runs unavailable for metrics",
    show(gauge, figures) {
      for (const outcome of SOURCE_OUTCOMES) {
        gauge.set({ outcome }, figures.lastSourceOutcome === outcome ? 1 : 0);
      }
    },
  });
  registerDatabaseUp(registry, { source: () => options.sources(), logger });
}

function runsOf(figures: RunFigures, status: string): number {
  return figures.byStatus.find((row) => row.status === status)?.runs ?? 0;
}

function lastFinishedOf(figures: RunFigures, statuses: readonly string[]): number {
  let last = 0;
  for (const row of figures.byStatus) {
    if (statuses.includes(row.status) && row.lastFinishedAt) {
      last = Math.max(last, row.lastFinishedAt.getTime() / 1000);
    }
  }
  return last;
}

/** `plugchat_sync_database_up{database}`: 1 when the sync database answers, 0 when not (or too late). */
function registerDatabaseUp(
  registry: Registry,
  options: { source: () => DeploymentSources | null; logger: Logger },
): void {
  new Gauge({
    name: "plugchat_sync_database_up",
    help: "Whether the sync database answers this worker (1) or not (0), by database: embedded (the worker's own server) or external (DATABASE_URL).",
    labelNames: ["database"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const sources = options.source();
      if (!sources) return;
      const up = await sources.ping().then(
        () => 1,
        (error: unknown) => {
          options.logger.debug({ err: error }, "sync database unreachable for metrics");
          return 0;
        },
      );
      this.set({ database: sources.database }, up);
    },
  });
}
