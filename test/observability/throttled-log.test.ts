import { afterEach, describe, expect, it, vi } from "vitest";
import { throttledLog } from "../../src/observability/throttled-log.js";
import { captureLogs } from "../helpers/logs.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("throttledLog", () => {
  it("logs each key once per interval, and again once the interval has passed", () => {
    vi.useFakeTimers();
    const logs = captureLogs();
    const log = throttledLog(logs.logger, "warn", 30_000);

    for (let attempt = 0; attempt < 50; attempt++) log("ECONNREFUSED", { attempt }, "connection problem");
    log("ETIMEDOUT", {}, "another problem");
    vi.advanceTimersByTime(29_999);
    log("ECONNREFUSED", { attempt: 50 }, "connection problem");
    vi.advanceTimersByTime(1);
    log("ECONNREFUSED", { attempt: 51 }, "connection problem");

    expect(logs.lines().map((line) => [line.msg, line.attempt, line.level])).toEqual([
      ["connection problem", 0, "warn"],
      ["another problem", undefined, "warn"],
      ["connection problem", 51, "warn"],
    ]);
  });
});
