// The Redis store of the global rate limiter: what is particular to it. The contract both stores
// keep is in rate-limiter.test.ts.
import { describe, expect, inject, it } from "vitest";
import { RateLimiterUnavailableError } from "../../src/queue/backend/rate-limit-deadline.js";
import { createRedisRateLimiter } from "../../src/queue/backend/redis-rate-limiter.js";
import { useRedisStore } from "./rate-limiter-stores.js";

describe.skipIf(!inject("redisAvailable"))("createRedisRateLimiter", () => {
  const store = useRedisStore();

  it("keeps the next free slot under the given key with an expiry", async () => {
    const key = store.uniqueKey();
    const redis = store.connect();
    const limiter = createRedisRateLimiter({ redis, key, maxRps: 2 });
    await limiter.acquire();
    const [[, stored], [, pttl]] = (await redis.multi().get(key).pttl(key).exec()) as [
      [null, string],
      [null, number],
    ];
    const [seconds] = await redis.time();
    // The slot after this one starts 500 ms after now (Redis time), in microseconds.
    expect(Number(stored)).toBeGreaterThan(Number(seconds) * 1_000_000);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(500 + 1000);
  });

  it("connects a lazy connection on first use", async () => {
    const redis = store.connect({ lazyConnect: true });
    const limiter = createRedisRateLimiter({ redis, key: store.uniqueKey(), maxRps: 100 });
    await limiter.acquire();
    expect(redis.status).toBe("ready");
  });

  it("reports a Redis error as the limiter being unavailable", async () => {
    const key = store.uniqueKey();
    const redis = store.connect();
    await redis.rpush(key, "not a slot"); // wrong type: GET fails inside the script
    const limiter = createRedisRateLimiter({ redis, key, maxRps: 10 });
    await expect(limiter.acquire()).rejects.toThrow(RateLimiterUnavailableError);
  });
});
