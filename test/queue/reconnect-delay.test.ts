import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_RECONNECT_DELAY_MS, reconnectDelay } from "../../src/queue/backend/reconnect-delay.js";

describe("reconnectDelay", () => {
  it("doubles from 500 ms, within 20% below each step, and never exceeds the cap", () => {
    const steps = [500, 1_000, 2_000, 4_000, 8_000, 16_000];
    for (const [index, step] of steps.entries()) {
      for (let sample = 0; sample < 100; sample++) {
        const delay = reconnectDelay(index + 1);
        expect(delay).toBeGreaterThanOrEqual(step * 0.8);
        expect(delay).toBeLessThanOrEqual(step);
      }
    }
    for (const times of [7, 20, 1_000]) {
      expect(reconnectDelay(times)).toBeLessThanOrEqual(DEFAULT_MAX_RECONNECT_DELAY_MS);
      expect(reconnectDelay(times)).toBeGreaterThanOrEqual(DEFAULT_MAX_RECONNECT_DELAY_MS * 0.8);
      expect(reconnectDelay(times, 3_000)).toBeLessThanOrEqual(3_000);
    }
  });

  it("spreads the attempts of many clients (jitter), so that they do not reconnect at once", () => {
    const delays = new Set(Array.from({ length: 50 }, () => reconnectDelay(5)));
    expect(delays.size).toBeGreaterThan(10);
  });
});
