import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/logger.js";

export interface CapturedLogs {
  logger: Logger;
  /** Every line logged so far, parsed. */
  lines(): Record<string, unknown>[];
  /** The raw text, to check that nothing secret was written. */
  text(): string;
  withMessage(msg: string): Record<string, unknown>[];
}

/** A real pino logger whose JSON lines are kept in memory. */
export function captureLogs(level = "debug"): CapturedLogs {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level, pretty: false }, sink);
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger,
    lines,
    text: () => chunks.join(""),
    withMessage: (msg) => lines().filter((line) => line.msg === msg),
  };
}
