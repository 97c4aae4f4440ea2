import { describe, expect, it, vi } from "vitest";
import { createRateLimiter } from "../../src/plugchat/rate-limiter.js";

// Node timers may fire up to about a millisecond early when measured with performance.now().
const TIMER_SLACK_MS = 2;

describe("createRateLimiter", () => {
  it("grants concurrent acquisitions 1/maxRps apart", async () => {
    const limiter = createRateLimiter(50);
    const startedAt = performance.now();
    const granted: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, () =>
        limiter.acquire().then(() => granted.push(performance.now() - startedAt)),
      ),
    );
    granted.sort((a, b) => a - b);
    // A lower bound only: the k-th grant comes no sooner than k intervals after the first request.
    granted.forEach((at, k) => {
      expect(at).toBeGreaterThanOrEqual(k * 20 - TIMER_SLACK_MS);
    });
  });

  it("grants at once when maxRps is 0", async () => {
    // Under fake timers a limiter that waited at all would never resolve, and the test would time out.
    vi.useFakeTimers();
    try {
      const limiter = createRateLimiter(0);
      await Promise.all(Array.from({ length: 1000 }, () => limiter.acquire()));
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops waiting with the signal's reason when aborted", async () => {
    const limiter = createRateLimiter(1);
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const reason = new Error("run cancelled");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses maxRps %s", (maxRps) => {
    expect(() => createRateLimiter(maxRps)).toThrow(RangeError);
  });
});
