import { createRequire } from "node:module";
import { type Logger, pino } from "pino";
import type { PrettyOptions } from "pino-pretty";
import { isGoneReader } from "./lib/gone-reader.js";
import { redactUrlCredentials } from "./lib/redact.js";
import { escapedJson, showControls } from "./lib/terminal-text.js";

export type { Logger };

interface LoggerOptions {
  level: string;
  pretty: boolean;
  /** Fields added to every line, e.g. the active span's `trace_id` and `span_id` when tracing is on. */
  mixin?: () => object;
}

/**
 * Paths redacted in every log line. The token must never reach a log, whatever object carries it:
 * request headers, config dumps, errors with a `cause` holding request options.
 */
const REDACTED_PATHS = [
  "token",
  "*.token",
  "plugchatToken",
  "*.plugchatToken",
  "authorization",
  "Authorization",
  "*.authorization",
  "*.Authorization",
  "headers.authorization",
  "headers.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
];

/**
 * The one pino logger of a process: JSON lines, or pretty output for a person at a terminal.
 * Logs go to stderr, synchronously: stdout stays free for command output (`accounts list --json`), and
 * nothing is lost when a command exits right after logging.
 */
export function createLogger(options: LoggerOptions, destination?: pino.DestinationStream): Logger {
  const base: pino.LoggerOptions = {
    name: "plugchat-sync",
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...(options.mixin ? { mixin: options.mixin } : {}),
  };
  const out = destination ?? stderrLines();
  return pino(base, options.pretty ? prettyLines(out) : jsonLines(out));
}

/**
 * Stderr, synchronously. Once its reader is gone (a closed pipe, EPIPE; a terminal that hung up, EIO)
 * lines are dropped: the process carries on (a `sync` whose terminal closed still closes its run).
 */
function stderrLines(): pino.DestinationStream {
  const stderr = pino.destination({ dest: 2, sync: true });
  let gone = false;
  stderr.on("error", (error: NodeJS.ErrnoException) => {
    if (!isGoneReader(error)) throw error;
    gone = true;
  });
  return { write: (line: string) => (gone ? undefined : stderr.write(line)) };
}

/**
 * JSON lines, with the exact values: pino escapes C0 as JSON does, and here DEL, C1 and bidi controls
 * (a name from Plugchat may hold them) are escaped as `\uXXXX` too, the same JSON value, so that a
 * log read on a terminal (`docker logs`) shows them rather than obeys them.
 */
function jsonLines(out: pino.DestinationStream): pino.DestinationStream {
  return { write: (line: string) => out.write(escapedJson(line)) };
}

/**
 * Pretty lines, for a person at a terminal. A log line may quote what Plugchat sent (an account's
 * name, an error), and pino-pretty prints values as they come (it strips C0 and C1 from the message
 * only, and no bidi control): every string is escaped before, as the CLI's own output is.
 */
function prettyLines(out: pino.DestinationStream): pino.DestinationStream {
  // Required here, not imported: JSON logs (a worker, a pipe) never load pino-pretty and its parts.
  const { prettyFactory } = createRequire(import.meta.url)("pino-pretty") as {
    prettyFactory: (options: PrettyOptions) => (input: unknown) => string | undefined;
  };
  const prettify = prettyFactory({ translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,name" });
  return {
    write(line: string) {
      let text: string | undefined;
      try {
        text = prettify(escapeStrings(JSON.parse(line)));
      } catch {
        text = showControls(line);
      }
      if (text) out.write(text);
    },
  };
}

/** `value` with every string in it, keys included, shown by `showControls`. */
function escapeStrings(value: unknown): unknown {
  if (typeof value === "string") return showControls(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [showControls(key), escapeStrings(item)]),
  );
}

/**
 * Node prints a process warning (a dependency's deprecation, pg's notice about `sslmode`) as plain
 * text on stderr, among the JSON log lines, where a log collector cannot read it: it goes through
 * `logger` instead, one line at warn (`process warning`). Node's printer is the only listener at
 * start; when there is none (`node --no-warnings`), warnings stay unprinted.
 */
export function logProcessWarnings(logger: Logger): void {
  const printers = process.listeners("warning");
  if (printers.length === 0) return;
  for (const printer of printers) process.off("warning", printer);
  process.on("warning", (warning) => {
    const { name, code } = warning as Error & { code?: unknown };
    logger.warn(
      { warning: { name, code, message: redactUrlCredentials(warning.message) } },
      "process warning",
    );
  });
}

/** A logger that drops everything, for library code called without one. */
export const silentLogger: Logger = pino({ level: "silent" });
