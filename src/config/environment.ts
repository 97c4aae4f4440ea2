// Every variable of the configuration but the two secrets (see secret.ts), declared once: its name,
// how its text is checked and its default. The meaning of each is documented on `Config`.
import { z } from "zod";
import { isLoopbackHost } from "../lib/loopback.js";
import {
  cronSchedule,
  decimal,
  directory,
  matching,
  OWN_QUEUE_SCHEMA,
  oneOf,
  queueSchemaName,
  retentionDays,
  sqlQuery,
  timeZone,
  url,
  wholeNumber,
  yesOrNo,
} from "./fields.js";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const QUEUE_BACKENDS = ["postgres", "redis"] as const;
export type QueueBackendName = (typeof QUEUE_BACKENDS)[number];

const PLUGCHAT_API = "https://api.plugchat.com.br";
const HOUR_MS = 3_600_000;

const variables = z.object({
  DATABASE_URL: url(["postgresql:", "postgres:"], "postgresql://user@host:5432/plugchat_sync").optional(),
  PLUGCHAT_SYNC_DATA_DIR: directory().optional(),
  PLUGCHAT_SYNC_DB_PORT: wholeNumber(1, 65_535).default(54_329),
  REDIS_URL: url(["redis:", "rediss:"], "redis://host:6379/0").optional(),
  QUEUE_BACKEND: oneOf(QUEUE_BACKENDS).optional(),
  QUEUE_SCHEMA: queueSchemaName().default("bullmq"),
  PLUGCHAT_BASE_URL: url(["https:", "http:"], PLUGCHAT_API).default(PLUGCHAT_API),
  PLUGCHAT_ALLOW_INSECURE: yesOrNo().default(false),
  SYNC_CRON: cronSchedule().default("*/15 * * * *"),
  SYNC_TIMEZONE: timeZone().default("UTC"),
  SYNC_CONCURRENCY: wholeNumber(1, 256).default(16),
  SYNC_BATCH_SIZE: wholeNumber(1, 10_000).default(500),
  PLUGCHAT_MAX_RPS: decimal(0, 10_000).default(0),
  HTTP_TIMEOUT_MS: wholeNumber(1, 600_000).default(10_000),
  SYNC_MAX_ATTEMPTS: wholeNumber(1, 20).default(5),
  PLUGCHAT_RETRY_AFTER_MAX_MS: wholeNumber(0, HOUR_MS).default(60_000),
  PLUGCHAT_OUTAGE_AFTER: wholeNumber(1, 100_000).default(30),
  PLUGCHAT_OUTAGE_PROBE_MS: wholeNumber(100, HOUR_MS).default(5_000),
  PLUGCHAT_OUTAGE_GIVE_UP_MS: wholeNumber(0, 24 * HOUR_MS).default(45_000),
  LOG_LEVEL: oneOf(LOG_LEVELS).default("info"),
  LOG_PRETTY: yesOrNo().optional(),
  METRICS_PORT: wholeNumber(0, 65_535).optional(),
  // No spaces or glob characters: Redis keys are scanned with `prefix:*`. Braces allowed for a Redis
  // Cluster hash tag such as {plugchat-sync}.
  QUEUE_PREFIX: matching(
    /^[A-Za-z0-9_.:{}-]{1,64}$/,
    '1 to 64 letters, digits, "-", "_", ".", ":", "{" or "}"',
  ).default("plugchat-sync"),
  WORKER_CONCURRENCY: wholeNumber(1, 64).default(1),
  WORKER_SHUTDOWN_TIMEOUT_MS: wholeNumber(0, HOUR_MS).default(30_000),
  WORKER_LOCK_DURATION_MS: wholeNumber(1_000, HOUR_MS).default(30_000),
  WORKER_STALLED_INTERVAL_MS: wholeNumber(500, HOUR_MS).default(30_000),
  HEALTH_DATABASE_OUTAGE_MS: wholeNumber(0, 24 * HOUR_MS).default(120_000),
  ACCOUNT_SOURCE_URL: url(
    ["postgresql:", "postgres:", "mysql:", "mariadb:"],
    "postgresql://user:password@host:5432/crm or mysql://user:password@host:3306/crm",
  ).optional(),
  ACCOUNT_SOURCE_QUERY: sqlQuery().optional(),
  ACCOUNT_SOURCE_MAX_REMOVAL: decimal(0, 1).default(0.25),
  ACCOUNT_SOURCE_TIMEOUT_MS: wholeNumber(100, HOUR_MS).default(30_000),
  SYNC_NOTIFY_URL: url(["https:", "http:"], "https://hooks.example.com/plugchat-sync").optional(),
  // Retention: bookkeeping for a few days, history forever unless configured.
  RETENTION_BATCHES_DAYS: retentionDays().default(7),
  RETENTION_RUNS_DAYS: retentionDays().default(null),
  RETENTION_DRIFT_DAYS: retentionDays().default(null),
  RETENTION_MISMATCH_SPANS_DAYS: retentionDays().default(null),
  RETENTION_VERSIONS_DAYS: retentionDays().default(null),
  PRUNE_EVERY_MS: wholeNumber(0, 7 * 24 * HOUR_MS).default(HOUR_MS),
});

export type Environment = z.output<typeof variables>;
type Name = keyof Environment;

/**
 * The environment's schema. Its input holds only the variables that are set (see `setVariables`).
 * The rules between variables run even when some variables are bad, so that every problem is
 * reported at once; they look only at the good ones, as a bad one is reported already. (`when` does
 * not help after an issue that stops the parse, such as a failed int() or z.stringbool(): the fields
 * avoid those.)
 */
export const ENVIRONMENT = variables.superRefine(
  (env, ctx) => {
    const known = new Checked(env, new Set(ctx.issues.map((issue) => issue.path?.[0])));
    for (const problem of [
      insecureBaseUrl(known),
      redisWithoutUrl(known),
      queueSchemaOfReports(known),
      halfAccountSource(known),
    ]) {
      // No path: the message is the whole line.
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [] });
    }
  },
  { when: () => true },
);

/** The parsed variables, and which of them were bad. */
class Checked {
  constructor(
    readonly env: Environment,
    private readonly bad: ReadonlySet<unknown>,
  ) {}

  /** Set to a good value (a default counts). */
  isSet(name: Name): boolean {
    return !this.bad.has(name) && this.env[name] !== undefined;
  }

  /** Neither a good value nor a bad one. */
  isUnset(name: Name): boolean {
    return !this.bad.has(name) && this.env[name] === undefined;
  }
}

/**
 * The token travels in every request's Authorization header: over plain http it can be read by anyone
 * on the path. http is accepted only to this machine (the simulator, a local proxy), or when the
 * operator says the network is trusted.
 */
function insecureBaseUrl(known: Checked): string | undefined {
  if (!known.isSet("PLUGCHAT_BASE_URL") || known.env.PLUGCHAT_ALLOW_INSECURE === true) return undefined;
  const { protocol, hostname } = new URL(known.env.PLUGCHAT_BASE_URL);
  if (protocol !== "http:" || isLoopbackHost(hostname)) return undefined;
  return `PLUGCHAT_BASE_URL uses plain http to ${hostname}, which would send the token unencrypted: use https://, or set PLUGCHAT_ALLOW_INSECURE=1 if that network is trusted (http is always allowed to 127.0.0.1, ::1 and localhost)`;
}

function redisWithoutUrl(known: Checked): string | undefined {
  if (known.env.QUEUE_BACKEND !== "redis" || !known.isSet("QUEUE_BACKEND") || !known.isUnset("REDIS_URL")) {
    return undefined;
  }
  return "QUEUE_BACKEND=redis needs REDIS_URL: set it to the Redis of the queues, such as redis://host:6379/0";
}

/**
 * The queues beside the reporting tables (DATABASE_URL's `?schema=`) could not be dropped with their
 * schema without the reports. (The default, public, is refused by QUEUE_SCHEMA's own check.)
 */
function queueSchemaOfReports(known: Checked): string | undefined {
  const url = known.env.DATABASE_URL;
  if (url === undefined || !known.isSet("DATABASE_URL") || !known.isSet("QUEUE_SCHEMA")) return undefined;
  const reports = new URL(url).searchParams.get("schema");
  if (reports !== known.env.QUEUE_SCHEMA) return undefined;
  return `QUEUE_SCHEMA="${reports}" is the schema of the reporting tables (DATABASE_URL's ?schema=): ${OWN_QUEUE_SCHEMA}`;
}

function halfAccountSource(known: Checked): string | undefined {
  for (const [set, unset] of [
    ["ACCOUNT_SOURCE_URL", "ACCOUNT_SOURCE_QUERY"],
    ["ACCOUNT_SOURCE_QUERY", "ACCOUNT_SOURCE_URL"],
  ] as const) {
    if (known.isSet(set) && known.isUnset(unset)) {
      return `${set} is set but ${unset} is not: set both (the database of your account ids, and the query whose first column is the id), or neither`;
    }
  }
  return undefined;
}

/** The variables that are set: an empty or blank variable counts as unset. */
export function setVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => nonBlank(entry[1]) !== undefined),
  );
}

export function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
