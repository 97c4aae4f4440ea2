/**
 * The retry decision, kept apart from the retry loop (p-retry in client.ts) so that it can be
 * tested without HTTP: given how an attempt failed, retry or not, and after how long.
 */

export interface RetryPolicy {
  /** Delay before the first retry; later ones double it. */
  minRetryDelayMs: number;
  /** Ceiling of the exponential backoff. */
  maxRetryDelayMs: number;
  /** Ceiling of a server's `Retry-After`, so one header cannot park a worker for hours. */
  retryAfterMaxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  minRetryDelayMs: 500,
  maxRetryDelayMs: 30_000,
  retryAfterMaxMs: 60_000,
};

/** How an attempt failed: an HTTP answer, or a network error code (`ECONNRESET`, `TIMEOUT`...). */
export type AttemptFailure = { status: number; retryAfter?: string | null } | { code: string };

export type RetryDecision = { retry: false } | { retry: true; delayMs: number };

// 408, 429 and 5xx say "not now"; every other status would get the same answer next time.
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * @param failedAttempt the 1-based number of the attempt that failed
 * @param nowMs the current time, to turn an HTTP-date `Retry-After` into a delay
 * @param random a number in [0, 1) for the jitter
 */
export function decideRetry(
  failure: AttemptFailure,
  failedAttempt: number,
  policy: RetryPolicy,
  nowMs: number = Date.now(),
  random: number = Math.random(),
): RetryDecision {
  if ("status" in failure) {
    if (!isRetryableStatus(failure.status)) return { retry: false };
    if (failure.status === 429 || failure.status === 503) {
      const retryAfterMs = parseRetryAfter(failure.retryAfter ?? null, nowMs);
      if (retryAfterMs !== null) {
        return { retry: true, delayMs: Math.min(retryAfterMs, policy.retryAfterMaxMs) };
      }
    }
  }
  // Network errors and timeouts are all worth another try: the attempt budget bounds them.
  return { retry: true, delayMs: backoffDelayMs(failedAttempt, policy, random) };
}

/**
 * Exponential backoff with jitter: the n-th retry waits between 1 and 2 times min * 2^(n-1),
 * never more than the maximum. Jitter spreads the retries of workers that failed together.
 */
export function backoffDelayMs(failedAttempt: number, policy: RetryPolicy, random: number): number {
  const exponential = policy.minRetryDelayMs * 2 ** Math.max(0, failedAttempt - 1);
  return Math.round(Math.min(policy.maxRetryDelayMs, exponential * (1 + random)));
}

/**
 * Milliseconds a `Retry-After` value asks for: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Null when absent or unreadable; a date in the past means no wait.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date always names a day or month; the check keeps Date.parse from reading "1.5" as a date.
  if (!/[a-z]/i.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}
