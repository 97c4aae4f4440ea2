import { readFileSync } from "node:fs";
import type { PrunedTable } from "../db/sql/retention.js";
import { ExitCode, UserFacingError } from "../errors.js";
import { type DataDirPlatform, defaultDataDir, thisPlatform } from "./data-dir.js";
import {
  ENVIRONMENT,
  type Environment,
  type LogLevel,
  type QueueBackendName,
  setVariables,
} from "./environment.js";
import { ConfigError, problemLines } from "./problems.js";
import { PLUGCHAT_TOKEN, readSecret, type Secret, STATUS_PASSWORD } from "./secret.js";

/** The worker's health port when METRICS_PORT is unset (Prometheus' registry entry for exporters). */
export const DEFAULT_METRICS_PORT = 9464;

/** The validated settings of one process, from the variables of src/config/environment.ts. Read once, frozen. */
export interface Config {
  /**
   * DATABASE_URL. Undefined when unset: every command then uses the embedded PostgreSQL server of
   * dataDir (src/db/embedded). A URL that is set is always used as given, never replaced by the embedded one.
   */
  databaseUrl: string | undefined;
  /** The embedded server's directory: PLUGCHAT_SYNC_DATA_DIR, absolute, or the platform's default. */
  dataDir: string;
  /** PLUGCHAT_SYNC_DB_PORT: the embedded server's loopback port (fixed, so a URL handed to psql stays put). */
  embeddedPort: number;
  /** REDIS_URL. Undefined when unset: the worker's queues then live in PostgreSQL (see queueBackend). */
  redisUrl: string | undefined;
  /** Where the worker's queues live: QUEUE_BACKEND, or when unset "redis" if REDIS_URL is set, else "postgres". */
  queueBackend: QueueBackendName;
  /** QUEUE_SCHEMA: the PostgreSQL schema of the queues, on the postgres queue backend. */
  queueSchema: string;
  /** PLUGCHAT_BASE_URL, without a trailing slash. */
  plugchatBaseUrl: string;
  /** PLUGCHAT_ALLOW_INSECURE: a plain http:// base URL to a host other than loopback is accepted. */
  plugchatAllowInsecure: boolean;
  /** SYNC_CRON: a 5- or 6-field cron expression, or "off" to run manual syncs only. */
  syncCron: string;
  syncTimezone: string;
  syncConcurrency: number;
  /** SYNC_BATCH_SIZE: accounts fetched and written together, in one transaction (and one queue job). */
  syncBatchSize: number;
  plugchatMaxRps: number;
  httpTimeoutMs: number;
  syncMaxAttempts: number;
  retryAfterMaxMs: number;
  /**
   * PLUGCHAT_OUTAGE_AFTER, _PROBE_MS, _GIVE_UP_MS: requests failing in a row (refused, timed out, 5xx)
   * that make Plugchat count as down; then one probe this often; down this long, the run gives up.
   */
  plugchatOutage: { after: number; probeEveryMs: number; giveUpMs: number };
  logLevel: LogLevel;
  /** LOG_PRETTY; when unset, pretty when stdout is a terminal. */
  logPretty: boolean;
  /**
   * METRICS_PORT. Undefined when unset: the worker then serves on DEFAULT_METRICS_PORT, or on a free
   * port when another process of the machine (a second worker) holds that one. A port that is set is
   * used or refused.
   */
  metricsPort: number | undefined;
  /** QUEUE_PREFIX: names the queues of a deployment, so deployments can share one Redis or queue schema. */
  queuePrefix: string;
  /** WORKER_CONCURRENCY: batch jobs one worker process runs at once. */
  workerConcurrency: number;
  /** How long a stopping worker lets its in-flight batches finish before handing them back. */
  workerShutdownTimeoutMs: number;
  /** A batch job's lock: a worker that stops renewing it (killed) loses the batch to another after this. */
  workerLockDurationMs: number;
  /** How often workers look for batches whose worker died (stalled jobs). */
  workerStalledIntervalMs: number;
  /**
   * HEALTH_DATABASE_OUTAGE_MS: /healthz fails once the database has been unreachable this long, so
   * that an orchestrator restarts a worker that cannot recover by itself; 0: never.
   */
  healthDatabaseOutageMs: number;
  /**
   * ACCOUNT_SOURCE_URL: the integrator's own database, whose ids the tracked set follows at the start
   * of every run (with ACCOUNT_SOURCE_QUERY; both or neither). Undefined: the tracked set changes only by hand.
   */
  accountSourceUrl: string | undefined;
  /** ACCOUNT_SOURCE_QUERY: a read-only SQL query whose first column is the account id. */
  accountSourceQuery: string | undefined;
  /**
   * ACCOUNT_SOURCE_MAX_REMOVAL: the largest share of the tracked ids one reconciliation may untrack;
   * more is refused (an empty replica, a broken WHERE) and the run goes on with the current set.
   * 1 = no limit, 0 = never untrack.
   */
  accountSourceMaxRemoval: number;
  /** How long the source's query may run (statement timeout), and its connection may take to open. */
  accountSourceTimeoutMs: number;
  /** SYNC_NOTIFY_URL: where the worker POSTs a notification after a run that did not succeed. */
  syncNotifyUrl: string | undefined;
  /**
   * RETENTION_*_DAYS: how many days each table that grows keeps its rows; null keeps them forever
   * (sync_run_batches: 7 days by default; the history tables: forever).
   */
  retentionDays: Readonly<Record<PrunedTable, number | null>>;
  /** PRUNE_EVERY_MS: how often a worker prunes what retention lets go; 0: never (only `prune`). */
  pruneEveryMs: number;
  /**
   * STATUS_PASSWORD or the contents of STATUS_PASSWORD_FILE: opens the worker's status page (`/`) to any
   * client that gives it (HTTP basic auth); unset, the page answers loopback clients only.
   */
  statusPassword: Secret | undefined;
  /** PLUGCHAT_TOKEN or the contents of PLUGCHAT_TOKEN_FILE; see `requirePlugchatToken`. */
  plugchatToken: Secret | undefined;
}

export interface ConfigSources {
  /** Decides the default data directory; replaceable for tests (default: this process's). */
  platform?: DataDirPlatform;
  /** Whether stdout is a terminal: decides LOG_PRETTY's default. */
  stdoutIsTTY?: boolean;
  /** Reads PLUGCHAT_TOKEN_FILE and STATUS_PASSWORD_FILE; replaceable so parsing stays testable without files. */
  readFile?: (path: string) => string;
}

/**
 * Validates the environment and returns the frozen config. Every bad variable is reported at once,
 * in a ConfigError with one line each; values that can hold secrets are never echoed.
 */
export function parseConfig(env: NodeJS.ProcessEnv, sources: ConfigSources = {}): Readonly<Config> {
  const set = setVariables(env);
  const parsed = ENVIRONMENT.safeParse(set);
  const readFile = sources.readFile ?? ((path) => readFileSync(path, "utf8"));
  const token = readSecret(set, ["PLUGCHAT_TOKEN", "PLUGCHAT_TOKEN_FILE"], PLUGCHAT_TOKEN, readFile);
  const password = readSecret(set, ["STATUS_PASSWORD", "STATUS_PASSWORD_FILE"], STATUS_PASSWORD, readFile);
  const problems = [
    ...(parsed.success ? [] : problemLines(parsed.error.issues, set)),
    ...[token.problem, password.problem].filter((problem) => problem !== undefined),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...fromEnvironment(parsed.data),
    dataDir: parsed.data.PLUGCHAT_SYNC_DATA_DIR ?? defaultDataDir(env, sources.platform ?? thisPlatform()),
    logPretty: parsed.data.LOG_PRETTY ?? sources.stdoutIsTTY === true,
    statusPassword: password.secret,
    plugchatToken: token.secret,
  });
}

/** The settings that follow from the variables alone. */
function fromEnvironment(
  env: Environment,
): Omit<Config, "dataDir" | "logPretty" | "statusPassword" | "plugchatToken"> {
  return {
    databaseUrl: env.DATABASE_URL,
    embeddedPort: env.PLUGCHAT_SYNC_DB_PORT,
    redisUrl: env.REDIS_URL,
    queueBackend: env.QUEUE_BACKEND ?? (env.REDIS_URL === undefined ? "postgres" : "redis"),
    queueSchema: env.QUEUE_SCHEMA,
    plugchatBaseUrl: env.PLUGCHAT_BASE_URL.replace(/\/+$/, ""),
    plugchatAllowInsecure: env.PLUGCHAT_ALLOW_INSECURE,
    syncCron: env.SYNC_CRON,
    syncTimezone: env.SYNC_TIMEZONE,
    syncConcurrency: env.SYNC_CONCURRENCY,
    syncBatchSize: env.SYNC_BATCH_SIZE,
    plugchatMaxRps: env.PLUGCHAT_MAX_RPS,
    httpTimeoutMs: env.HTTP_TIMEOUT_MS,
    syncMaxAttempts: env.SYNC_MAX_ATTEMPTS,
    retryAfterMaxMs: env.PLUGCHAT_RETRY_AFTER_MAX_MS,
    plugchatOutage: {
      after: env.PLUGCHAT_OUTAGE_AFTER,
      probeEveryMs: env.PLUGCHAT_OUTAGE_PROBE_MS,
      giveUpMs: env.PLUGCHAT_OUTAGE_GIVE_UP_MS,
    },
    logLevel: env.LOG_LEVEL,
    metricsPort: env.METRICS_PORT,
    queuePrefix: env.QUEUE_PREFIX,
    workerConcurrency: env.WORKER_CONCURRENCY,
    workerShutdownTimeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS,
    workerLockDurationMs: env.WORKER_LOCK_DURATION_MS,
    workerStalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
    healthDatabaseOutageMs: env.HEALTH_DATABASE_OUTAGE_MS,
    accountSourceUrl: env.ACCOUNT_SOURCE_URL,
    accountSourceQuery: env.ACCOUNT_SOURCE_QUERY,
    accountSourceMaxRemoval: env.ACCOUNT_SOURCE_MAX_REMOVAL,
    accountSourceTimeoutMs: env.ACCOUNT_SOURCE_TIMEOUT_MS,
    syncNotifyUrl: env.SYNC_NOTIFY_URL,
    retentionDays: Object.freeze({
      sync_run_batches: env.RETENTION_BATCHES_DAYS,
      sync_runs: env.RETENTION_RUNS_DAYS,
      account_drift: env.RETENTION_DRIFT_DAYS,
      account_mismatch_spans: env.RETENTION_MISMATCH_SPANS_DAYS,
      account_versions: env.RETENTION_VERSIONS_DAYS,
    }),
    pruneEveryMs: env.PRUNE_EVERY_MS,
  };
}

let loaded: Readonly<Config> | undefined;

/** The process's config, read from process.env on first use. */
export function loadConfig(): Readonly<Config> {
  loaded ??= parseConfig(process.env, { stdoutIsTTY: process.stdout.isTTY === true });
  return loaded;
}

/** The Plugchat token, for commands that call Plugchat; a clear error when it is not configured. */
export function requirePlugchatToken(config: Config): Secret {
  if (config.plugchatToken) return config.plugchatToken;
  throw new UserFacingError(
    "no Plugchat token: set PLUGCHAT_TOKEN to your integrator token, or PLUGCHAT_TOKEN_FILE to a file holding it",
    { exitCode: ExitCode.badConfig },
  );
}
