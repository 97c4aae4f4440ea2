import { afterEach, describe, expect, it } from "vitest";
import { RateLimiterUnavailableError, withinDeadline } from "../../src/queue/backend/rate-limit-deadline.js";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
  unhandled.splice(0);
});

function settleLater<T>(ms: number, outcome: { value: T } | { error: Error }): Promise<T> {
  return new Promise<T>((resolve, reject) =>
    setTimeout(() => ("error" in outcome ? reject(outcome.error) : resolve(outcome.value)), ms),
  );
}

const timedOut = () => new RateLimiterUnavailableError("the store did not answer");

describe("withinDeadline", () => {
  it("gives the work's value when it comes before the deadline", async () => {
    await expect(withinDeadline(settleLater(5, { value: 42 }), 1_000, undefined, timedOut)).resolves.toBe(42);
  });

  it("rejects with the work's own error when it fails before the deadline", async () => {
    const failure = new Error("Redis refused");
    await expect(withinDeadline(settleLater(5, { error: failure }), 1_000, undefined, timedOut)).rejects.toBe(
      failure,
    );
  });

  it("rejects with the deadline's error when the work is slower", async () => {
    const work = settleLater(1_000, { value: 42 });
    await expect(withinDeadline(work, 20, undefined, timedOut)).rejects.toThrow(/the store did not answer/);
  });

  it("rejects with the signal's reason when aborted first", async () => {
    const controller = new AbortController();
    const reason = new Error("run cancelled");
    setTimeout(() => controller.abort(reason), 10);
    await expect(
      withinDeadline(settleLater(1_000, { value: 42 }), 1_000, controller.signal, timedOut),
    ).rejects.toBe(reason);
  });

  it("lets work that fails after the deadline fail quietly, not as an unhandled rejection", async () => {
    process.on("unhandledRejection", onUnhandled);
    const work = settleLater(40, { error: new Error("connection refused, too late") });
    await expect(withinDeadline(work, 10, undefined, timedOut)).rejects.toBeInstanceOf(
      RateLimiterUnavailableError,
    );
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(unhandled).toEqual([]);
  });
});

describe("RateLimiterUnavailableError", () => {
  it("says that the request was not sent, with a code callers can test", () => {
    const error = new RateLimiterUnavailableError("PostgreSQL did not answer within 5000 ms");
    expect(error.message).toBe(
      "global rate limiter unavailable: PostgreSQL did not answer within 5000 ms; the Plugchat request was not sent",
    );
    expect(error.code).toBe("RATE_LIMITER_UNAVAILABLE");
    expect(error.name).toBe("RateLimiterUnavailableError");
  });
});
