import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { ExitCode, UserFacingError } from "../errors.js";
import { Secret } from "./secret.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The worker's health port when METRICS_PORT is unset (Prometheus' registry entry for exporters). */
export const DEFAULT_METRICS_PORT = 9464;

export const QUEUE_BACKENDS = ["postgres", "redis"] as const;
export type QueueBackendName = (typeof QUEUE_BACKENDS)[number];

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

/** How the text of one variable becomes its value; problems are added to `ctx`, named after `name`. */
type Parser<T> = (name: string) => z.ZodType<T, string>;

interface Setting<T> {
  /** The environment variable. */
  env: string;
  /** The text used when the variable is unset or empty; none: the value is then undefined. */
  fallback: string | undefined;
  parser: Parser<T>;
}

function setting<T>(env: string, fallback: string, parser: Parser<T>): Setting<T> {
  return { env, fallback, parser };
}

function optional<T>(env: string, parser: Parser<T>): Setting<T | undefined> {
  return { env, fallback: undefined, parser: parser as Parser<T | undefined> };
}

const integer =
  (min: number, max: number): Parser<number> =>
  (name) =>
    z.string().transform((raw, ctx) => {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({
          code: "custom",
          message: `${name}=${quote(raw)} is not valid: expected a whole number from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return value;
    });

const decimal =
  (min: number, max: number): Parser<number> =>
  (name) =>
    z.string().transform((raw, ctx) => {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
        ctx.addIssue({
          code: "custom",
          message: `${name}=${quote(raw)} is not valid: expected a number from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return value;
    });

// URLs may hold passwords, so their problems are described without echoing the value.
const url =
  (protocols: readonly string[], example: string): Parser<string> =>
  (name) =>
    z.string().transform((raw, ctx) => {
      const text = raw.trim();
      if (!URL.canParse(text)) {
        ctx.addIssue({ code: "custom", message: `${name} is not a valid URL: expected the form ${example}` });
        return z.NEVER;
      }
      const { protocol } = new URL(text);
      if (!protocols.includes(protocol)) {
        ctx.addIssue({
          code: "custom",
          message: `${name} has the scheme "${protocol}": expected ${protocols.join(" or ")} URL such as ${example}`,
        });
        return z.NEVER;
      }
      return text;
    });

const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (name) =>
    z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!(values as readonly string[]).includes(value)) {
        ctx.addIssue({
          code: "custom",
          message: `${name}=${quote(raw)} is not valid: expected one of ${values.join(", ")}`,
        });
        return z.NEVER;
      }
      return value as T;
    });

const matching =
  (pattern: RegExp, expected: string): Parser<string> =>
  (name) =>
    z.string().transform((raw, ctx) => {
      const value = raw.trim();
      if (!pattern.test(value)) {
        ctx.addIssue({ code: "custom", message: `${name}=${quote(raw)} is not valid: expected ${expected}` });
        return z.NEVER;
      }
      return value;
    });

// Resolved against the working directory once, so every process and the server agree on the path.
const directory: Parser<string> = (name) =>
  z.string().transform((raw, ctx) => {
    if (raw.includes("\0")) {
      ctx.addIssue({ code: "custom", message: `${name} is not a valid path: expected a directory path` });
      return z.NEVER;
    }
    return resolve(raw.trim());
  });

const cron: Parser<string> = (name) =>
  z.string().transform((raw, ctx) => {
    const expression = raw.trim();
    if (expression === "off") return expression;
    const fields = expression.split(/\s+/).length;
    const problem =
      fields === 5 || fields === 6 ? cronProblem(expression) : `it has ${fields} fields, not 5 or 6`;
    if (problem) {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${quote(raw)} is not valid (${problem}): expected 5 cron fields such as "*/15 * * * *", 6 with seconds first, or "off"`,
      });
      return z.NEVER;
    }
    return expression;
  });

const timezone: Parser<string> = (name) =>
  z.string().transform((raw, ctx) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: raw });
      return raw;
    } catch {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${quote(raw)} is not a known time zone: expected an IANA name such as "UTC" or "America/Sao_Paulo"`,
      });
      return z.NEVER;
    }
  });

// A query is not echoed either: it is the integrator's SQL, and long.
const sqlQuery: Parser<string> = (name) =>
  z.string().transform((raw, ctx) => {
    const query = raw.trim().replace(/;\s*$/, "");
    if (query.includes("\u0000")) {
      ctx.addIssue({ code: "custom", message: `${name} holds a NUL character: expected one SQL query` });
      return z.NEVER;
    }
    return query;
  });

const booleanWords: Record<string, boolean> = {
  true: true,
  "1": true,
  yes: true,
  false: false,
  "0": false,
  no: false,
};
const boolean: Parser<boolean> = (name) =>
  z.string().transform((raw, ctx) => {
    const value = booleanWords[raw.trim().toLowerCase()];
    if (value === undefined) {
      ctx.addIssue({ code: "custom", message: `${name}=${quote(raw)} is not valid: expected true or false` });
      return z.NEVER;
    }
    return value;
  });

/** At least 8 characters, no control characters; never echoed. */
const password: Parser<Secret> = (name) =>
  z.string().transform((raw, ctx) => {
    const problem = passwordProblem(raw.trim());
    if (problem) {
      ctx.addIssue({ code: "custom", message: `${name} is not a usable password: ${problem}` });
      return z.NEVER;
    }
    return new Secret(raw.trim());
  });

const filePath: Parser<string> = () => z.string().transform((raw) => raw.trim());

/**
 * Every variable of the configuration, declared once: its name, its default and how it is parsed.
 * The `Config` type, the defaults and the validation all follow from this table.
 */
export const SETTINGS = {
  /**
   * Undefined when unset: every command then uses the embedded PostgreSQL server of dataDir
   * (src/db/embedded). A URL that is set is always used as given, never replaced by the embedded one.
   */
  databaseUrl: optional(
    "DATABASE_URL",
    url(["postgresql:", "postgres:"], "postgresql://user@host:5432/plugchat_sync"),
  ),
  /** Where the embedded server keeps its data; undefined: the platform's default (see defaultDataDir). */
  dataDir: optional("PLUGCHAT_SYNC_DATA_DIR", directory),
  /** The loopback port of the embedded server (fixed, so the URL handed to psql or a BI tool stays put). */
  embeddedPort: setting("PLUGCHAT_SYNC_DB_PORT", "54329", integer(1, 65_535)),
  /** Undefined when unset: the worker's queues then live in PostgreSQL (see queueBackend). */
  redisUrl: optional("REDIS_URL", url(["redis:", "rediss:"], "redis://host:6379/0")),
  /** QUEUE_BACKEND; when unset, "redis" if REDIS_URL is set, else "postgres" (see parseConfig). */
  queueBackend: optional("QUEUE_BACKEND", oneOf(QUEUE_BACKENDS)),
  /** The PostgreSQL schema of the queues, on the postgres queue backend. */
  queueSchema: setting(
    "QUEUE_SCHEMA",
    "bullmq",
    matching(
      /^[a-z_][a-z0-9_]{0,62}$/,
      'a schema name: 1 to 63 lower-case letters, digits or "_", not starting with a digit',
    ),
  ),
  plugchatBaseUrl: setting(
    "PLUGCHAT_BASE_URL",
    "https://api.plugchat.com.br",
    url(["https:", "http:"], "https://api.plugchat.com.br"),
  ),
  /** PLUGCHAT_ALLOW_INSECURE: a plain http:// base URL to a host other than loopback is accepted. */
  plugchatAllowInsecure: setting("PLUGCHAT_ALLOW_INSECURE", "false", boolean),
  /** A 5- or 6-field cron expression, or "off" to run manual syncs only. */
  syncCron: setting("SYNC_CRON", "*/15 * * * *", cron),
  syncTimezone: setting("SYNC_TIMEZONE", "UTC", timezone),
  syncConcurrency: setting("SYNC_CONCURRENCY", "16", integer(1, 256)),
  /** Accounts fetched and written together, in one transaction (and, on the queue, one job). */
  syncBatchSize: setting("SYNC_BATCH_SIZE", "500", integer(1, 10_000)),
  plugchatMaxRps: setting("PLUGCHAT_MAX_RPS", "0", decimal(0, 10_000)),
  httpTimeoutMs: setting("HTTP_TIMEOUT_MS", "10000", integer(1, 600_000)),
  syncMaxAttempts: setting("SYNC_MAX_ATTEMPTS", "5", integer(1, 20)),
  retryAfterMaxMs: setting("PLUGCHAT_RETRY_AFTER_MAX_MS", "60000", integer(0, 3_600_000)),
  logLevel: setting("LOG_LEVEL", "info", oneOf(LOG_LEVELS)),
  /** Undefined when unset: pretty when stdout is a terminal (see parseConfig). */
  logPretty: optional("LOG_PRETTY", boolean),
  /**
   * Undefined when unset: the worker then serves on DEFAULT_METRICS_PORT, or on a free port when another
   * process of the machine (a second worker) holds that one. A port that is set is used or refused.
   */
  metricsPort: optional("METRICS_PORT", integer(0, 65_535)),
  /**
   * Names the queues of a deployment, so that deployments can share one Redis or one queue schema.
   * No spaces or glob characters (Redis keys are scanned with `prefix:*`); braces allowed for a Redis
   * Cluster hash tag such as {plugchat-sync}.
   */
  queuePrefix: setting(
    "QUEUE_PREFIX",
    "plugchat-sync",
    matching(/^[A-Za-z0-9_.:{}-]{1,64}$/, '1 to 64 letters, digits, "-", "_", ".", ":", "{" or "}"'),
  ),
  /** Batch jobs one worker process runs at once. */
  workerConcurrency: setting("WORKER_CONCURRENCY", "1", integer(1, 64)),
  /** How long a stopping worker lets its in-flight batches finish before handing them back. */
  workerShutdownTimeoutMs: setting("WORKER_SHUTDOWN_TIMEOUT_MS", "30000", integer(0, 3_600_000)),
  /** A batch job's lock: a worker that stops renewing it (killed) loses the batch to another after this. */
  workerLockDurationMs: setting("WORKER_LOCK_DURATION_MS", "30000", integer(1_000, 3_600_000)),
  /** How often workers look for batches whose worker died (stalled jobs). */
  workerStalledIntervalMs: setting("WORKER_STALLED_INTERVAL_MS", "30000", integer(500, 3_600_000)),
  /**
   * The integrator's own database, whose ids the tracked set follows at the start of every run
   * (with ACCOUNT_SOURCE_QUERY; both or neither). Undefined: the tracked set changes only by hand.
   */
  accountSourceUrl: optional(
    "ACCOUNT_SOURCE_URL",
    url(
      ["postgresql:", "postgres:", "mysql:", "mariadb:"],
      "postgresql://user:password@host:5432/crm or mysql://user:password@host:3306/crm",
    ),
  ),
  /** A read-only SQL query whose first column is the account id. */
  accountSourceQuery: optional("ACCOUNT_SOURCE_QUERY", sqlQuery),
  /**
   * The largest share of the tracked ids one reconciliation may untrack; more is refused (an empty
   * replica, a broken WHERE) and the run goes on with the current set. 1 = no limit, 0 = never untrack.
   */
  accountSourceMaxRemoval: setting("ACCOUNT_SOURCE_MAX_REMOVAL", "0.25", decimal(0, 1)),
  /** How long the source's query may run (statement timeout), and its connection may take to open. */
  accountSourceTimeoutMs: setting("ACCOUNT_SOURCE_TIMEOUT_MS", "30000", integer(100, 3_600_000)),
  /** Where the worker POSTs a notification after a run that did not succeed; undefined = none. */
  syncNotifyUrl: optional(
    "SYNC_NOTIFY_URL",
    url(["https:", "http:"], "https://hooks.example.com/plugchat-sync"),
  ),
  /**
   * Opens the worker's status page (`/`) to any client that gives it (HTTP basic auth); unset, the
   * page answers loopback clients only. STATUS_PASSWORD_FILE reads it from a file instead.
   */
  statusPassword: optional("STATUS_PASSWORD", password),
  statusPasswordFile: optional("STATUS_PASSWORD_FILE", filePath),
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof SETTINGS;
type SettingValues = { [K in keyof Settings]: Settings[K] extends Setting<infer T> ? T : never };

/** The validated settings of one process. Read once, frozen. */
export interface Config
  extends Omit<
    SettingValues,
    "queueBackend" | "logPretty" | "plugchatBaseUrl" | "statusPasswordFile" | "dataDir"
  > {
  /** The embedded server's directory: PLUGCHAT_SYNC_DATA_DIR, absolute, or the platform's default. */
  dataDir: string;
  /** Without a trailing slash. */
  plugchatBaseUrl: string;
  /** Where the worker's queues live; decided from QUEUE_BACKEND and REDIS_URL. */
  queueBackend: QueueBackendName;
  logPretty: boolean;
  /** Undefined when neither PLUGCHAT_TOKEN nor PLUGCHAT_TOKEN_FILE is set; see `requirePlugchatToken`. */
  plugchatToken: Secret | undefined;
}

/** The default text of each variable that has one, by variable name (for docs and tests). */
export const DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.values(SETTINGS as Record<string, Setting<unknown>>)
    .filter((entry) => entry.fallback !== undefined)
    .map((entry) => [entry.env, entry.fallback as string]),
);

export interface ConfigSources {
  /** Decides the default data directory; replaceable for tests (default: this process's). */
  platform?: DataDirPlatform;
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
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(SETTINGS as Record<string, Setting<unknown>>)) {
    const raw = nonEmpty(env[entry.env]) ?? entry.fallback;
    if (raw === undefined) {
      values[key] = undefined;
      continue;
    }
    const parsed = entry.parser(entry.env).safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(...parsed.error.issues.map((issue) => issue.message));
  }
  const settings = values as SettingValues;
  const insecure = insecureBaseUrlProblem(settings.plugchatBaseUrl, settings.plugchatAllowInsecure);
  if (insecure) problems.push(insecure);
  if (settings.queueBackend === "redis" && settings.redisUrl === undefined && !nonEmpty(env.REDIS_URL)) {
    problems.push(
      "QUEUE_BACKEND=redis needs REDIS_URL: set it to the Redis of the queues, such as redis://host:6379/0",
    );
  }
  if ((settings.accountSourceUrl === undefined) !== (settings.accountSourceQuery === undefined)) {
    const [set, unset] =
      settings.accountSourceQuery === undefined
        ? ["ACCOUNT_SOURCE_URL", "ACCOUNT_SOURCE_QUERY"]
        : ["ACCOUNT_SOURCE_QUERY", "ACCOUNT_SOURCE_URL"];
    // A variable with a bad value is reported already; this is only about one of the two missing.
    if (nonEmpty(env[unset]) === undefined) {
      problems.push(
        `${set} is set but ${unset} is not: set both (the database of your account ids, and the query whose first column is the id), or neither`,
      );
    }
  }
  const readFile = sources.readFile ?? ((path) => readFileSync(path, "utf8"));
  const token = readToken(env, readFile, problems);
  const statusPassword = readStatusPassword(settings, readFile, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const { statusPasswordFile: _file, ...rest } = settings;
  return Object.freeze({
    ...rest,
    statusPassword,
    plugchatBaseUrl: settings.plugchatBaseUrl.replace(/\/+$/, ""),
    dataDir: settings.dataDir ?? defaultDataDir(env, sources.platform ?? thisPlatform()),
    queueBackend: settings.queueBackend ?? (settings.redisUrl === undefined ? "postgres" : "redis"),
    logPretty: settings.logPretty ?? sources.stdoutIsTTY === true,
    plugchatToken: token,
  });
}

let loaded: Readonly<Config> | undefined;

/** The process's config, read from process.env on first use. */
export function loadConfig(): Readonly<Config> {
  loaded ??= parseConfig(process.env, { stdoutIsTTY: process.stdout.isTTY === true });
  return loaded;
}

export interface DataDirPlatform {
  os: NodeJS.Platform;
  uid: number | undefined;
  home: string;
}

function thisPlatform(): DataDirPlatform {
  return { os: process.platform, uid: process.getuid?.(), home: homedir() };
}

/**
 * Where the embedded server keeps its data when PLUGCHAT_SYNC_DATA_DIR is unset. For root (containers,
 * CI) /var/lib/plugchat-sync: the server runs as the `postgres` user, which cannot enter root's home
 * (mode 0700). Otherwise the per-user data directory of the platform: $XDG_DATA_HOME or
 * ~/.local/share on Linux and the BSDs, ~/Library/Application Support on macOS, %LOCALAPPDATA% on
 * Windows.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv, platform: DataDirPlatform): string {
  const app = "plugchat-sync";
  if (platform.os === "win32") {
    const local = nonEmpty(env.LOCALAPPDATA);
    return join(local ?? join(platform.home, "AppData", "Local"), app);
  }
  if (platform.uid === 0) return join("/var/lib", app);
  if (platform.os === "darwin") return join(platform.home, "Library", "Application Support", app);
  const xdg = nonEmpty(env.XDG_DATA_HOME);
  // The XDG spec: a relative $XDG_DATA_HOME is invalid and must be ignored.
  return join(xdg && isAbsolute(xdg) ? xdg : join(platform.home, ".local", "share"), app);
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

/** STATUS_PASSWORD, or the contents of STATUS_PASSWORD_FILE (trimmed), never both. */
function readStatusPassword(
  settings: SettingValues,
  readFile: (path: string) => string,
  problems: string[],
): Secret | undefined {
  const file = settings.statusPasswordFile;
  if (file === undefined) return settings.statusPassword;
  if (settings.statusPassword !== undefined) {
    problems.push("STATUS_PASSWORD and STATUS_PASSWORD_FILE are both set: set only one of them");
    return undefined;
  }
  let contents: string;
  try {
    contents = readFile(file).trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    problems.push(
      `STATUS_PASSWORD_FILE=${quote(file)} cannot be read (${reason}): expected the path of a file holding the status page's password`,
    );
    return undefined;
  }
  const problem = passwordProblem(contents);
  if (problem) {
    problems.push(`the file in STATUS_PASSWORD_FILE (${file}) does not hold a usable password: ${problem}`);
    return undefined;
  }
  return new Secret(contents);
}

function passwordProblem(password: string): string | undefined {
  if (password.length < 8) return "expected at least 8 characters";
  if (/\p{Cc}/u.test(password)) return "expected no control characters (one line, nothing else)";
  return undefined;
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
function insecureBaseUrlProblem(
  raw: string | undefined,
  allowInsecure: boolean | undefined,
): string | undefined {
  if (allowInsecure || raw === undefined || !URL.canParse(raw)) return undefined;
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
