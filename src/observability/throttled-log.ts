import type { Logger } from "../logger.js";

/** Logs a message at most once per `everyMs` for each key: outages repeat the same error many times. */
export function throttledLog(
  logger: Logger,
  level: "warn" | "error",
  everyMs = 30_000,
): (key: string, fields: Record<string, unknown>, message: string) => void {
  const lastLogged = new Map<string, number>();
  return (key, fields, message) => {
    const now = Date.now();
    if (now - (lastLogged.get(key) ?? Number.NEGATIVE_INFINITY) < everyMs) return;
    lastLogged.set(key, now);
    if (lastLogged.size > 100) lastLogged.clear();
    logger[level](fields, message);
  };
}
