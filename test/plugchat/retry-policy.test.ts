import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
} from "../../src/plugchat/retry-policy.js";

const policy: RetryPolicy = { minRetryDelayMs: 100, maxRetryDelayMs: 1000, retryAfterMaxMs: 5000 };
const NOW = Date.parse("2025-01-01T00:00:00Z");

describe("isRetryableStatus", () => {
  it.each([408, 429, 500, 502, 503, 504, 599])("retries HTTP %i", (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([200, 302, 400, 401, 403, 404, 405, 409, 415, 422])("does not retry HTTP %i", (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});

describe("decideRetry", () => {
  it.each([400, 401, 403, 404, 405, 415, 422])("never retries HTTP %i", (status) => {
    expect(decideRetry({ status }, 1, policy, NOW, 0)).toEqual({ retry: false });
  });

  it.each(["ECONNRESET", "ECONNREFUSED", "TIMEOUT", "UND_ERR_SOCKET"])(
    "retries the network error %s",
    (code) => {
      expect(decideRetry({ code }, 1, policy, NOW, 0)).toEqual({ retry: true, delayMs: 100 });
    },
  );

  it("backs off exponentially from minRetryDelayMs", () => {
    const delays = [1, 2, 3, 4].map((attempt) => decideRetry({ status: 500 }, attempt, policy, NOW, 0));
    expect(delays).toEqual([100, 200, 400, 800].map((delayMs) => ({ retry: true, delayMs })));
  });

  it.each([429, 503])("waits the Retry-After of HTTP %i instead of the backoff", (status) => {
    expect(decideRetry({ status, retryAfter: "3" }, 1, policy, NOW, 0)).toEqual({
      retry: true,
      delayMs: 3000,
    });
  });

  it("reads a Retry-After HTTP date against the current time", () => {
    const retryAfter = new Date(NOW + 4000).toUTCString();
    expect(decideRetry({ status: 429, retryAfter }, 1, policy, NOW, 0)).toEqual({
      retry: true,
      delayMs: 4000,
    });
  });

  it("caps Retry-After at retryAfterMaxMs", () => {
    expect(decideRetry({ status: 429, retryAfter: "3600" }, 1, policy, NOW, 0)).toEqual({
      retry: true,
      delayMs: 5000,
    });
  });

  it("ignores Retry-After on statuses other than 429 and 503", () => {
    expect(decideRetry({ status: 500, retryAfter: "3" }, 1, policy, NOW, 0)).toEqual({
      retry: true,
      delayMs: 100,
    });
  });

  it("falls back to the backoff when Retry-After cannot be read", () => {
    expect(decideRetry({ status: 503, retryAfter: "soon" }, 2, policy, NOW, 0)).toEqual({
      retry: true,
      delayMs: 200,
    });
  });
});

describe("backoffDelayMs", () => {
  it("adds up to 100% jitter", () => {
    expect(backoffDelayMs(2, policy, 0)).toBe(200);
    expect(backoffDelayMs(2, policy, 0.5)).toBe(300);
    expect(backoffDelayMs(2, policy, 0.999)).toBe(400);
  });

  it("never exceeds maxRetryDelayMs", () => {
    expect(backoffDelayMs(20, policy, 0.999)).toBe(1000);
  });

  it("defaults to 500 ms growing to at most 30 s", () => {
    expect(backoffDelayMs(1, DEFAULT_RETRY_POLICY, 0)).toBe(500);
    expect(backoffDelayMs(30, DEFAULT_RETRY_POLICY, 0.5)).toBe(30_000);
    expect(DEFAULT_RETRY_POLICY.retryAfterMaxMs).toBe(60_000);
  });
});

describe("parseRetryAfter", () => {
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("120", NOW)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", NOW)).toBe(0);
  });

  it("reads an HTTP date as the time left until it", () => {
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:07 GMT", NOW)).toBe(7000);
  });

  it("treats a date in the past as no wait", () => {
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:59:00 GMT", NOW)).toBe(0);
  });

  it.each([null, "", "soon", "-1", "1.5", "12abc"])("returns null for %j", (value) => {
    expect(parseRetryAfter(value, NOW)).toBeNull();
  });
});
