import { readFileSync } from "node:fs";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { ExitCode, UserFacingError } from "../errors.js";
import { Secret } from "./secret.js";

/** The validated settings of one process. Read once, frozen. */
export interface Config {
  databaseUrl: string;
  redisUrl: string;
  plugchatBaseUrl: string;
  /** PLUGCHAT_ALLOW_INSECURE: a plain http:// base URL to a host other than loopback is accepted. */
  plugchatAllowInsecure: boolean;
  /** Undefined when neither PLUGCHAT_TOKEN nor PLUGCHAT_TOKEN_FILE is set; see `requirePlugchatToken`. */
  plugchatToken: Secret | undefined;
  /** A 5- or 6-field cron expression, or "off" to run manual syncs only. */
  syncCron: string;
  syncTimezone: string;
  syncConcurrency: number;
  /** Accounts fetched and written together, in one transaction (and, on the queue, one job). */
  syncBatchSize: number;
  plugchatMaxRps: number;
  httpTimeoutMs: number;
  syncMaxAttempts: number;
  retryAfterMaxMs: number;
  logLevel: LogLevel;
  logPretty: boolean;
  metricsPort: number;
  /** Prefix of every Redis key of the worker's queues, so that deployments can share one Redis. */
  queuePrefix: string;
  /** Batch jobs one worker process runs at once. */
  workerConcurrency: number;
  /** How long a stopping worker lets its in-flight batches finish before handing them back. */
  workerShutdownTimeoutMs: number;
  /** A batch job's lock: a worker that stops renewing it (killed) loses the batch to another after this. */
  workerLockDurationMs: number;
  /** How often workers look for batches whose worker died (stalled jobs). */
  workerStalledIntervalMs: number;
  /** Where the worker POSTs a notification after a run that did not succeed; undefined = none. */
  syncNotifyUrl: string | undefined;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULTS = {
  DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/plugchat_sync",
  REDIS_URL: "redis://127.0.0.1:6379",
  PLUGCHAT_BASE_URL: "https://api.plugchat.com.br",
  SYNC_CRON: "*/15 * * * *",
  SYNC_TIMEZONE: "UTC",
  SYNC_CONCURRENCY: "16",
  SYNC_BATCH_SIZE: "500",
  PLUGCHAT_MAX_RPS: "0",
  HTTP_TIMEOUT_MS: "10000",
  SYNC_MAX_ATTEMPTS: "5",
  PLUGCHAT_RETRY_AFTER_MAX_MS: "60000",
  LOG_LEVEL: "info",
  METRICS_PORT: "9464",
  QUEUE_PREFIX: "plugchat-sync",
  WORKER_CONCURRENCY: "1",
  WORKER_SHUTDOWN_TIMEOUT_MS: "30000",
  WORKER_LOCK_DURATION_MS: "30000",
  WORKER_STALLED_INTERVAL_MS: "30000",
} as const;

/** Bad configuration: one line per bad variable, exit code 2. */
export class ConfigError extends UserFacingError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.map((problem) => `invalid configuration: ${problem}`).join("\n"), {
      exitCode: ExitCode.badConfig,
    });
    this.problems = problems;
  }
}

const integer = (name: string, min: number, max: number) =>
  z.string().superRefine((raw, ctx) => {
    const value = Number(raw.trim());
    if (raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${quote(raw)} is not valid: expected a whole number from ${min} to ${max}`,
      });
    }
  });

const decimal = (name: string, min: number, max: number) =>
  z.string().superRefine((raw, ctx) => {
    const value = Number(raw.trim());
    if (raw.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${quote(raw)} is not valid: expected a number from ${min} to ${max}`,
      });
    }
  });

// URLs may hold passwords, so their problems are described without echoing the value.
const url = (name: string, protocols: readonly string[], example: string) =>
  z.string().superRefine((raw, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      ctx.addIssue({ code: "custom", message: `${name} is not a valid URL: expected the form ${example}` });
      return;
    }
    if (!protocols.includes(parsed.protocol)) {
      ctx.addIssue({
        code: "custom",
        message: `${name} has the scheme "${parsed.protocol}": expected ${protocols.join(" or ")} URL such as ${example}`,
      });
    }
  });

const cron = z.string().superRefine((raw, ctx) => {
  const expression = raw.trim();
  if (expression === "off") return;
  const fields = expression.split(/\s+/).length;
  const problem =
    fields === 5 || fields === 6 ? cronProblem(expression) : `it has ${fields} fields, not 5 or 6`;
  if (problem) {
    ctx.addIssue({
      code: "custom",
      message: `SYNC_CRON=${quote(raw)} is not valid (${problem}): expected 5 cron fields such as "*/15 * * * *", 6 with seconds first, or "off"`,
    });
  }
});

const timezone = z.string().superRefine((raw, ctx) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: raw });
  } catch {
    ctx.addIssue({
      code: "custom",
      message: `SYNC_TIMEZONE=${quote(raw)} is not a known time zone: expected an IANA name such as "UTC" or "America/Sao_Paulo"`,
    });
  }
});

// Redis key prefix: no spaces or glob characters (keys are scanned with `prefix:*`); braces allowed for
// a Redis Cluster hash tag such as {plugchat-sync}.
const queuePrefix = z.string().superRefine((raw, ctx) => {
  if (!/^[A-Za-z0-9_.:{}-]{1,64}$/.test(raw.trim())) {
    ctx.addIssue({
      code: "custom",
      message: `QUEUE_PREFIX=${quote(raw)} is not valid: expected 1 to 64 letters, digits, "-", "_", ".", ":", "{" or "}"`,
    });
  }
});

const booleanWords: Record<string, boolean> = {
  true: true,
  "1": true,
  yes: true,
  false: false,
  "0": false,
  no: false,
};
const boolean = (name: string) =>
  z.string().superRefine((raw, ctx) => {
    if (!(raw.trim().toLowerCase() in booleanWords)) {
      ctx.addIssue({ code: "custom", message: `${name}=${quote(raw)} is not valid: expected true or false` });
    }
  });

const schema = z.object({
  DATABASE_URL: url(
    "DATABASE_URL",
    ["postgresql:", "postgres:"],
    "postgresql://user@host:5432/plugchat_sync",
  ),
  REDIS_URL: url("REDIS_URL", ["redis:", "rediss:"], "redis://host:6379/0"),
  PLUGCHAT_BASE_URL: url("PLUGCHAT_BASE_URL", ["https:", "http:"], "https://api.plugchat.com.br"),
  SYNC_CRON: cron,
  SYNC_TIMEZONE: timezone,
  SYNC_CONCURRENCY: integer("SYNC_CONCURRENCY", 1, 256),
  SYNC_BATCH_SIZE: integer("SYNC_BATCH_SIZE", 1, 10_000),
  PLUGCHAT_MAX_RPS: decimal("PLUGCHAT_MAX_RPS", 0, 10_000),
  HTTP_TIMEOUT_MS: integer("HTTP_TIMEOUT_MS", 1, 600_000),
  SYNC_MAX_ATTEMPTS: integer("SYNC_MAX_ATTEMPTS", 1, 20),
  PLUGCHAT_RETRY_AFTER_MAX_MS: integer("PLUGCHAT_RETRY_AFTER_MAX_MS", 0, 3_600_000),
  LOG_LEVEL: z.string().superRefine((raw, ctx) => {
    if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
      ctx.addIssue({
        code: "custom",
        message: `LOG_LEVEL=${quote(raw)} is not valid: expected one of ${LOG_LEVELS.join(", ")}`,
      });
    }
  }),
  LOG_PRETTY: boolean("LOG_PRETTY").optional(),
  PLUGCHAT_ALLOW_INSECURE: boolean("PLUGCHAT_ALLOW_INSECURE").optional(),
  SYNC_NOTIFY_URL: url(
    "SYNC_NOTIFY_URL",
    ["https:", "http:"],
    "https://hooks.example.com/plugchat-sync",
  ).optional(),
  METRICS_PORT: integer("METRICS_PORT", 0, 65_535),
  QUEUE_PREFIX: queuePrefix,
  WORKER_CONCURRENCY: integer("WORKER_CONCURRENCY", 1, 64),
  WORKER_SHUTDOWN_TIMEOUT_MS: integer("WORKER_SHUTDOWN_TIMEOUT_MS", 0, 3_600_000),
  WORKER_LOCK_DURATION_MS: integer("WORKER_LOCK_DURATION_MS", 1_000, 3_600_000),
  WORKER_STALLED_INTERVAL_MS: integer("WORKER_STALLED_INTERVAL_MS", 500, 3_600_000),
});

export interface ConfigSources {
  /** Whether stdout is a terminal: decides LOG_PRETTY's default. */
  stdoutIsTTY?: boolean;
  /** Reads PLUGCHAT_TOKEN_FILE; replaceable so parsing stays testable without files. */
  readFile?: (path: string) => string;
}

/**
 * Validates the environment and returns the frozen config. Every bad variable is reported at once,
 * in a ConfigError with one line each; values that can hold secrets are never echoed.
 */
export function parseConfig(env: NodeJS.ProcessEnv, sources: ConfigSources = {}): Readonly<Config> {
  const raw: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(DEFAULTS).map(([name, fallback]) => [name, nonEmpty(env[name]) ?? fallback]),
  );
  raw.LOG_PRETTY = nonEmpty(env.LOG_PRETTY);
  raw.PLUGCHAT_ALLOW_INSECURE = nonEmpty(env.PLUGCHAT_ALLOW_INSECURE);
  raw.SYNC_NOTIFY_URL = nonEmpty(env.SYNC_NOTIFY_URL)?.trim();
  const problems: string[] = [];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => issue.message));
  const allowInsecure = booleanWords[raw.PLUGCHAT_ALLOW_INSECURE?.trim().toLowerCase() ?? "false"] === true;
  const insecure = insecureBaseUrlProblem(raw.PLUGCHAT_BASE_URL ?? "", allowInsecure);
  if (insecure) problems.push(insecure);

  const token = readToken(env, sources.readFile ?? ((path) => readFileSync(path, "utf8")), problems);
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const values = parsed.data;
  return Object.freeze({
    databaseUrl: values.DATABASE_URL,
    redisUrl: values.REDIS_URL,
    plugchatBaseUrl: values.PLUGCHAT_BASE_URL.replace(/\/+$/, ""),
    plugchatAllowInsecure: allowInsecure,
    plugchatToken: token,
    syncCron: values.SYNC_CRON.trim(),
    syncTimezone: values.SYNC_TIMEZONE,
    syncConcurrency: Number(values.SYNC_CONCURRENCY),
    syncBatchSize: Number(values.SYNC_BATCH_SIZE),
    plugchatMaxRps: Number(values.PLUGCHAT_MAX_RPS),
    httpTimeoutMs: Number(values.HTTP_TIMEOUT_MS),
    syncMaxAttempts: Number(values.SYNC_MAX_ATTEMPTS),
    retryAfterMaxMs: Number(values.PLUGCHAT_RETRY_AFTER_MAX_MS),
    logLevel: values.LOG_LEVEL as LogLevel,
    logPretty:
      values.LOG_PRETTY === undefined
        ? sources.stdoutIsTTY === true
        : (booleanWords[values.LOG_PRETTY.trim().toLowerCase()] ?? false),
    metricsPort: Number(values.METRICS_PORT),
    queuePrefix: values.QUEUE_PREFIX.trim(),
    workerConcurrency: Number(values.WORKER_CONCURRENCY),
    workerShutdownTimeoutMs: Number(values.WORKER_SHUTDOWN_TIMEOUT_MS),
    workerLockDurationMs: Number(values.WORKER_LOCK_DURATION_MS),
    workerStalledIntervalMs: Number(values.WORKER_STALLED_INTERVAL_MS),
    syncNotifyUrl: values.SYNC_NOTIFY_URL,
  });
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

function readToken(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string,
  problems: string[],
): Secret | undefined {
  const direct = nonEmpty(env.PLUGCHAT_TOKEN);
  const file = nonEmpty(env.PLUGCHAT_TOKEN_FILE);
  if (direct && file) {
    problems.push("PLUGCHAT_TOKEN and PLUGCHAT_TOKEN_FILE are both set: set only one of them");
    return undefined;
  }
  if (direct) return checkedToken(direct.trim(), "PLUGCHAT_TOKEN", problems);
  if (!file) return undefined;
  let contents: string;
  try {
    contents = readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    problems.push(
      `PLUGCHAT_TOKEN_FILE=${quote(file)} cannot be read (${reason}): expected the path of a file holding the token`,
    );
    return undefined;
  }
  return checkedToken(contents.trim(), `the file in PLUGCHAT_TOKEN_FILE (${file})`, problems);
}

function checkedToken(token: string, source: string, problems: string[]): Secret | undefined {
  // A token with whitespace or control characters inside would corrupt the Authorization header.
  if (token === "" || /[\s\p{Cc}]/u.test(token)) {
    problems.push(
      `${source} does not hold a usable token: expected one line with the token and nothing else`,
    );
    return undefined;
  }
  return new Secret(token);
}

/**
 * The token travels in every request's Authorization header: over plain http it can be read by anyone
 * on the path. http is accepted only to this machine (the simulator, a local proxy), or when the
 * operator says the network is trusted.
 */
function insecureBaseUrlProblem(raw: string, allowInsecure: boolean): string | undefined {
  if (allowInsecure || !URL.canParse(raw)) return undefined;
  const parsed = new URL(raw);
  if (parsed.protocol !== "http:" || isLoopbackHost(parsed.hostname)) return undefined;
  return `PLUGCHAT_BASE_URL uses plain http to ${parsed.hostname}, which would send the token unencrypted: use https://, or set PLUGCHAT_ALLOW_INSECURE=1 if that network is trusted (http is always allowed to 127.0.0.1, ::1 and localhost)`;
}

/**
 * Loopback as the WHATWG URL parser leaves a hostname: 127.0.0.0/8 (shorthands such as 127.1 are
 * normalised to dotted quads first), [::1], [::ffff:127.x.y.z] (written in hex) and localhost.
 * A name that only starts with them (127.0.0.1.example.com, localhost.example.com) is not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "localhost." || host === "[::1]") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}

function cronProblem(expression: string): string | undefined {
  try {
    CronExpressionParser.parse(expression);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
