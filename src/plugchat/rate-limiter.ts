import { sleep } from "../lib/sleep.js";

/**
 * Grants permission to send one request. The client calls `acquire` before every HTTP request,
 * retries and redirects included, so the cap holds whatever goes wrong.
 */
export interface RateLimiter {
  /** Resolves when the request may go; rejects with the signal's reason when it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** True for a limiter without a cap: the client then asks it nothing, and makes no promise per request. */
  readonly uncapped?: boolean;
}

const unlimited: RateLimiter = { acquire: async (signal) => signal?.throwIfAborted(), uncapped: true };

/**
 * An in-process limiter that spaces requests evenly, 1/maxRps seconds apart (0 = no cap).
 * Evenly spaced rather than a token bucket: no burst at start-up, which is what a remote API
 * without a published limit is most likely to punish.
 */
export function createRateLimiter(maxRps: number): RateLimiter {
  if (!Number.isFinite(maxRps) || maxRps < 0) throw new RangeError(`maxRps must be 0 or more, got ${maxRps}`);
  if (maxRps === 0) return unlimited;
  const intervalMs = 1000 / maxRps;
  let nextSlot = 0;
  return {
    async acquire(signal) {
      signal?.throwIfAborted();
      const now = performance.now();
      // Reserve the slot before waiting, so concurrent callers queue up behind each other.
      const slot = Math.max(now, nextSlot);
      nextSlot = slot + intervalMs;
      if (slot > now) await sleep(slot - now, signal);
    },
  };
}
