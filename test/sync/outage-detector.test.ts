import { describe, expect, it } from "vitest";
import { OutageDetector, outcomeOfAttempt } from "../../src/sync/outage-detector.js";

const SETTINGS = { after: 3, probeEveryMs: 1_000, giveUpMs: 10_000 };
/** A failed request of account `n`: accounts fail one after another, each a different one. */
let nextAccount = 0;
const down = () => ({ kind: "failed", what: "ECONNREFUSED", accountId: `acc-${nextAccount++}` }) as const;
const downOf = (accountId: string) => ({ kind: "failed", what: "ECONNREFUSED", accountId }) as const;
const answered = { kind: "answered" } as const;

/** A detector opened at `atMs` by SETTINGS.after failures in a row. */
function openedAt(atMs: number): OutageDetector {
  const detector = new OutageDetector(SETTINGS);
  for (let i = 0; i < SETTINGS.after; i++) detector.record(down(), atMs, false);
  return detector;
}

describe("outcomeOfAttempt", () => {
  it("counts no answer (refused, reset, timeout) and 5xx as Plugchat down", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "TIMEOUT"]) {
      expect(outcomeOfAttempt({ accountId: "a", status: null, code })).toEqual({
        kind: "failed",
        what: code,
        accountId: "a",
      });
    }
    expect(outcomeOfAttempt({ accountId: "a", status: 503, code: null })).toEqual({
      kind: "failed",
      what: "HTTP 503",
      accountId: "a",
    });
    expect(outcomeOfAttempt({ accountId: "a", status: 500, code: null }).kind).toBe("failed");
  });

  it("counts 404, 401, 403, 429 and a success as Plugchat answering, and our own abort as nothing", () => {
    for (const status of [200, 404, 401, 403, 429, 400]) {
      expect(outcomeOfAttempt({ accountId: "a", status, code: null })).toEqual({ kind: "answered" });
    }
    expect(outcomeOfAttempt({ accountId: "a", status: null, code: "ABORTED" })).toEqual({ kind: "none" });
  });
});

describe("OutageDetector", () => {
  it("lets every request go until `after` requests fail in a row, then opens once", () => {
    const detector = new OutageDetector(SETTINGS);
    expect(detector.record(down(), 0, false)).toBeNull();
    expect(detector.record(down(), 0, false)).toBeNull();
    expect(detector.admit(0)).toEqual({ kind: "go" });
    expect(detector.record(down(), 5, false)).toEqual({
      kind: "opened",
      failuresInARow: 3,
      lastFailure: "ECONNREFUSED",
    });
    expect(detector.state).toBe("open");
    // Failures while open say nothing more.
    expect(detector.record(down(), 6, false)).toBeNull();
  });

  it("needs as many different accounts as go at once: a few failing every attempt in a row never open it", () => {
    const detector = new OutageDetector(SETTINGS, 16);
    // Two accounts that always fail, retried many times with nothing else in flight (a batch's tail).
    for (let attempt = 0; attempt < 50; attempt++) {
      detector.record(downOf("doomed-1"), attempt, false);
      detector.record(downOf("doomed-2"), attempt, false);
    }
    expect(detector.state).toBe("closed");
    expect(detector.record(downOf("doomed-3"), 60, false)).toMatchObject({ kind: "opened" });
  });

  it("starts counting again after any answer: failures spread among answers never open it", () => {
    const detector = new OutageDetector(SETTINGS);
    for (let i = 0; i < 20; i++) {
      detector.record(down(), i, false);
      detector.record(down(), i, false);
      detector.record(answered, i, false);
    }
    expect(detector.state).toBe("closed");
  });

  it("while open, holds requests back and lets one probe go every probeEveryMs", () => {
    const detector = openedAt(0);
    expect(detector.admit(10)).toEqual({ kind: "wait", untilMs: 1_000 });
    expect(detector.admit(1_000)).toEqual({ kind: "probe" });
    // One probe at a time: the others wait for it (at the latest until the give-up).
    expect(detector.admit(1_001)).toEqual({ kind: "wait", untilMs: 10_000 });
    detector.record(down(), 1_200, true);
    expect(detector.admit(1_300)).toEqual({ kind: "wait", untilMs: 2_200 });
    expect(detector.admit(2_200)).toEqual({ kind: "probe" });
  });

  it("closes when a probe gets an answer, and says for how long Plugchat was down", () => {
    const detector = openedAt(0);
    detector.admit(1_000);
    expect(detector.record(answered, 1_500, true)).toEqual({
      kind: "recovered",
      downMs: 1_500,
      probes: 1,
      failures: 0,
    });
    expect(detector.admit(1_501)).toEqual({ kind: "go" });
    // A new outage needs `after` failures in a row again.
    detector.record(down(), 1_600, false);
    expect(detector.state).toBe("closed");
  });

  it("a probe dropped without an outcome lets the next one go at once", () => {
    const detector = openedAt(0);
    expect(detector.admit(1_000)).toEqual({ kind: "probe" });
    detector.probeDropped();
    expect(detector.admit(1_001)).toEqual({ kind: "probe" });
  });

  it("gives up once open for giveUpMs, for good, with the reason 'Plugchat unreachable'", () => {
    const detector = openedAt(0);
    expect(detector.giveUpReason()).toBeNull();
    expect(detector.admit(9_999).kind).not.toBe("give_up");
    expect(detector.admit(10_000)).toEqual({ kind: "give_up" });
    expect(detector.state).toBe("gave_up");
    // A late answer changes nothing: the run is stopping.
    expect(detector.record(answered, 10_001, true)).toBeNull();
    expect(detector.admit(10_002)).toEqual({ kind: "give_up" });
    expect(detector.giveUpReason()).toMatch(
      /^Plugchat unreachable: 3 requests failed in a row \(last: ECONNREFUSED\)/,
    );
  });

  it("refuses a threshold below 1", () => {
    expect(() => new OutageDetector({ ...SETTINGS, after: 0 })).toThrow(RangeError);
  });
});
