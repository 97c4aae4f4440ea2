// The overall state at the top of the status page: each rule of docs/status-page.md, and the schedule
// interval the lateness is measured against.
import { describe, expect, it } from "vitest";
import { type HealthFacts, judgeHealth } from "../../src/status/health.js";
import { scheduleIntervalMs } from "../../src/status/schedule-interval.js";

const NOW = new Date("2026-12-02T12:00:00Z");
const seconds = (n: number) => new Date(NOW.getTime() - n * 1_000);

/** All is well: a run every 10 s, the last one succeeded 5 s ago after 2 s, two workers. */
function facts(overrides: Partial<HealthFacts> = {}): HealthFacts {
  return {
    now: NOW,
    lastSuccess: { runId: 9, startedAt: seconds(7), finishedAt: seconds(5) },
    scheduleIntervalMs: 10_000,
    lastFinished: { runId: 9, status: "succeeded", error: null, sourceOutcome: "applied", sourceError: null },
    running: null,
    accounts: { tracked: 100, failing: 2 },
    liveWorkers: 2,
    ...overrides,
  };
}

describe("judgeHealth", () => {
  it("is ok, with no reason, when the last run succeeded on time with workers there and few accounts failing", () => {
    expect(judgeHealth(facts())).toEqual({ state: "ok", reasons: [] });
  });

  it("is degraded when the last success is over twice the expected gap old (interval + its duration), failing over four times", () => {
    // Expected gap 12 s: 24 s is not late yet, 25 s is; 48 s is degraded, 49 s failing.
    const at = (age: number) =>
      judgeHealth(
        facts({ lastSuccess: { runId: 9, startedAt: seconds(age + 2), finishedAt: seconds(age) } }),
      );
    expect(at(24).state).toBe("ok");
    expect(at(25).state).toBe("degraded");
    expect(at(25).reasons[0]?.text).toBe(
      "the last successful run (#9) ended 25 s ago; runs are due every 10 s",
    );
    expect(at(48).state).toBe("degraded");
    expect(at(49).state).toBe("failing");
  });

  it("never calls a run late without a schedule (manual runs only)", () => {
    const old = { runId: 9, startedAt: seconds(86_402), finishedAt: seconds(86_400) };
    expect(judgeHealth(facts({ scheduleIntervalMs: null, lastSuccess: old })).state).toBe("ok");
  });

  it("is failing when the last run failed, with its error", () => {
    const health = judgeHealth(
      facts({
        lastFinished: {
          runId: 10,
          status: "failed",
          error: "Plugchat refused the token (401)",
          sourceOutcome: null,
          sourceError: null,
        },
      }),
    );
    expect(health.state).toBe("failing");
    expect(health.reasons).toEqual([
      { state: "failing", text: "the last run (#10) failed: Plugchat refused the token (401)" },
    ]);
  });

  it("is degraded when the last run's account source was refused or skipped, even though the run succeeded", () => {
    for (const outcome of ["refused", "skipped"]) {
      const health = judgeHealth(
        facts({
          lastFinished: {
            runId: 9,
            status: "succeeded",
            error: null,
            sourceOutcome: outcome,
            sourceError: "would remove 50 of 100 accounts",
          },
        }),
      );
      expect(health.state).toBe("degraded");
      expect(health.reasons[0]?.text).toBe(
        `the last run (#9): the account source was ${outcome} (would remove 50 of 100 accounts); the tracked accounts were left as they were`,
      );
    }
  });

  it("is degraded when the last run was interrupted", () => {
    const health = judgeHealth(
      facts({
        lastFinished: {
          runId: 9,
          status: "interrupted",
          error: "SIGINT",
          sourceOutcome: null,
          sourceError: null,
        },
      }),
    );
    expect(health.state).toBe("degraded");
  });

  it("is failing with no live worker, and degraded when the queues do not say", () => {
    expect(judgeHealth(facts({ liveWorkers: 0 })).reasons).toEqual([
      { state: "failing", text: "no worker is connected to the queues: no run will start" },
    ]);
    expect(judgeHealth(facts({ liveWorkers: null })).state).toBe("degraded");
  });

  it("is failing while a run goes on without heartbeat past the abandon threshold, and judges the run before it", () => {
    const stale = judgeHealth(facts({ running: { runId: 10, heartbeatAt: seconds(400), stale: true } }));
    expect(stale.state).toBe("failing");
    expect(stale.reasons[0]?.text).toBe(
      "run #10 has sent no heartbeat for 6 min 40 s: its process died? The next run closes it as abandoned",
    );
    expect(judgeHealth(facts({ running: { runId: 10, heartbeatAt: seconds(20), stale: false } })).state).toBe(
      "ok",
    );
  });

  it("is degraded from 10% of tracked accounts failing, failing from 50%", () => {
    const share = (failing: number) => judgeHealth(facts({ accounts: { tracked: 100, failing } })).state;
    expect(share(9)).toBe("ok");
    expect(share(10)).toBe("degraded");
    expect(share(49)).toBe("degraded");
    expect(share(50)).toBe("failing");
    expect(judgeHealth(facts({ accounts: { tracked: 0, failing: 0 } })).state).toBe("ok");
  });

  it("says no run has succeeded yet on a new install, but not over a failed last run", () => {
    expect(judgeHealth(facts({ lastSuccess: null, lastFinished: null })).reasons).toEqual([
      { state: "degraded", text: "no run has succeeded yet" },
    ]);
    const failed = judgeHealth(
      facts({
        lastSuccess: null,
        lastFinished: { runId: 1, status: "failed", error: "boom", sourceOutcome: null, sourceError: null },
      }),
    );
    expect(failed.reasons.map((reason) => reason.text)).toEqual(["the last run (#1) failed: boom"]);
  });

  it("lists the failing reasons before the degraded ones", () => {
    const health = judgeHealth(facts({ liveWorkers: null, accounts: { tracked: 10, failing: 6 } }));
    expect(health.state).toBe("failing");
    expect(health.reasons.map((reason) => reason.state)).toEqual(["failing", "degraded"]);
  });
});

describe("scheduleIntervalMs", () => {
  it("is the gap between fires for a regular schedule", () => {
    expect(scheduleIntervalMs("*/10 * * * * *", "UTC", NOW)).toBe(10_000);
    expect(scheduleIntervalMs("*/15 * * * *", null, NOW)).toBe(15 * 60_000);
  });

  it("is the longest gap for an irregular one: a weekdays schedule's weekend", () => {
    expect(scheduleIntervalMs("0 3 * * 1-5", "America/Sao_Paulo", NOW)).toBe(3 * 24 * 3_600_000);
  });

  it("is null for an expression it cannot read", () => {
    expect(scheduleIntervalMs("not a cron", "UTC", NOW)).toBeNull();
  });
});
