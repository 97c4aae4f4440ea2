// What the global rate limiters (Redis, PostgreSQL) share: the checks of their settings, the length
// of a slot, the error of a limiter that could not reserve a slot, and the deadline every reservation
// runs under.
//
// Only `import type`: the limiters' tests transpile this module with them to run it in a second process.
import type { RateLimiter } from "../../plugchat/rate-limiter.js";

/** The limiter of a rate of 0: no cap, and no call to the store at all. */
export const UNLIMITED: RateLimiter = { acquire: async (signal) => signal?.throwIfAborted(), uncapped: true };

/**
 * Throws on settings no limiter can work with: a rate that is negative or not finite, a timeout that
 * is not above 0 (`timeoutOption` names it in the message), an empty key.
 */
export function checkLimiterSettings(
  settings: { maxRps: number; timeoutMs: number; key: string },
  timeoutOption: string,
): void {
  const { maxRps, timeoutMs } = settings;
  if (!Number.isFinite(maxRps) || maxRps < 0) throw new RangeError(`maxRps must be 0 or more, got ${maxRps}`);
  if (!(timeoutMs > 0)) throw new RangeError(`${timeoutOption} must be more than 0, got ${timeoutMs}`);
  if (settings.key === "") throw new TypeError("the rate limit key is empty");
}

/** The time between two slots, rounded up: the cap may be undershot by a microsecond, never exceeded. */
export function slotIntervalMicros(maxRps: number): number {
  return Math.ceil(1_000_000 / maxRps);
}

/** The limiter could not reserve a slot (its store unreachable, closed or erroring): the request was not sent. */
export class RateLimiterUnavailableError extends Error {
  readonly code = "RATE_LIMITER_UNAVAILABLE";

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`global rate limiter unavailable: ${reason}; the Plugchat request was not sent`, options);
    this.name = "RateLimiterUnavailableError";
  }
}

/** `work`, or a rejection when the deadline passes or the signal aborts, whichever comes first. */
export function withinDeadline<T>(
  work: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  timeoutError: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      finish();
      reject(timeoutError());
    }, timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    // Handles `work`'s rejection whenever it comes: when it loses the race and fails later, that is
    // expected and must not surface as an unhandled rejection (which would end the process); rejecting
    // a settled promise does nothing.
    work.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}
