// What the global rate limiters (Redis, PostgreSQL) share: the error of a limiter that could not
// reserve a slot, and the deadline every reservation runs under.
//
// No imports at all: the limiters' tests transpile this module with them to run it in a second process.

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
