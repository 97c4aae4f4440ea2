import { describe, expect, it } from "vitest";
import type { RunLiveness } from "../../src/db/sql/runs.js";
import { refusalToClose } from "../../src/sync/close-by-hand.js";

const STALE_AFTER_MS = 5 * 60_000;
const heartbeatAt = new Date("2026-12-05T10:00:00.000Z");

function running(secondsSinceHeartbeat: number): RunLiveness {
  return {
    status: "running",
    trigger: "cli",
    finishedAt: null,
    heartbeatAt,
    now: new Date(heartbeatAt.getTime() + secondsSinceHeartbeat * 1000),
  };
}

describe("whether runs close may close a run", () => {
  it("refuses a running run whose heartbeat is fresh, saying until when, unless forced", () => {
    const refusal = refusalToClose(12, running(42), { force: false, staleAfterMs: STALE_AFTER_MS });
    expect(refusal).toBe(
      "run #12 (cli) may still be going: its last heartbeat was 42 s ago (2026-12-05T10:00:00.000Z). " +
        "Stop its process if it runs (Ctrl-C on a sync closes its run itself); if it is gone, add --force, " +
        "or wait until 2026-12-05T10:05:00.000Z (5 min without heartbeat)",
    );
    expect(refusalToClose(12, running(42), { force: true, staleAfterMs: STALE_AFTER_MS })).toBeNull();
  });

  it("closes a running run once its heartbeat is as old as the stale window, without --force", () => {
    expect(refusalToClose(12, running(299), { force: false, staleAfterMs: STALE_AFTER_MS })).not.toBeNull();
    expect(refusalToClose(12, running(300), { force: false, staleAfterMs: STALE_AFTER_MS })).toBeNull();
  });

  it("refuses, even forced, a run that does not exist or is closed already", () => {
    const closed: RunLiveness = { ...running(10), status: "interrupted", finishedAt: heartbeatAt };
    expect(refusalToClose(7, null, { force: true, staleAfterMs: STALE_AFTER_MS })).toBe(
      "there is no run #7 (plugchat-sync report --runs 20 lists the latest)",
    );
    expect(refusalToClose(12, closed, { force: true, staleAfterMs: STALE_AFTER_MS })).toBe(
      "run #12 is closed already (interrupted, finished 2026-12-05T10:00:00.000Z): nothing to do",
    );
  });
});
