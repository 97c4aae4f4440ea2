import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level: string;
  pretty: boolean;
}

/**
 * Paths redacted in every log line. The token must never reach a log, whatever object carries it:
 * request headers, config dumps, errors with a `cause` holding request options.
 */
export const REDACTED_PATHS = [
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

/** The one pino logger of a process: JSON lines, or pretty output for a person at a terminal. */
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
    return pino({
      ...base,
      transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,name" } },
    });
  }
  return pino(base);
}

/** A logger that drops everything, for library code called without one. */
export const silentLogger: Logger = pino({ level: "silent" });
