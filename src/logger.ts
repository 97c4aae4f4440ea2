import { type Logger, pino } from "pino";
import pretty from "pino-pretty";

export type { Logger };

interface LoggerOptions {
  level: string;
  pretty: boolean;
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
  };
  if (destination) return pino(base, destination);
  if (options.pretty) {
    return pino(
      base,
      pretty({ destination: 2, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,name" }),
    );
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything, for library code called without one. */
export const silentLogger: Logger = pino({ level: "silent" });
