// The one overall state at the top of the status page (and /api/health): ok, degraded or failing, with
// the reasons, worst first. Pure: the facts come from the database and the queues (queries.ts).
// The rules are listed in docs/status-page.md; change both together.
import { formatDuration } from "../progress/figures.js";

type HealthState = "ok" | "degraded" | "failing";

export interface HealthFacts {
  now: Date;
  /** The last run that succeeded (or was partial); null if none did. */
  lastSuccess: { runId: number; startedAt: Date; finishedAt: Date } | null;
  /** The longest gap between two scheduled runs; null without a schedule (or when it is unknown). */
  scheduleIntervalMs: number | null;
  /** The newest run that has ended, whatever its status; null if none has. */
  lastFinished: {
    runId: number;
    status: string;
    error: string | null;
    sourceOutcome: string | null;
    sourceError: string | null;
  } | null;
  /** The run going on; `stale`: no heartbeat for longer than runs are given before they count as abandoned. */
  running: { runId: number; heartbeatAt: Date; stale: boolean } | null;
  accounts: { tracked: number; failing: number };
  /** Worker processes on the queues now; null when the queues did not say (or this process has none). */
  liveWorkers: number | null;
}

export interface HealthReason {
  state: Exclude<HealthState, "ok">;
  text: string;
}

export interface Health {
  state: HealthState;
  /** Worst first; empty when all is well. */
  reasons: HealthReason[];
}

/** The last success may be this many expected gaps old before the page says degraded, then failing. */
const LATE_AFTER_GAPS = 2;
const FAILING_AFTER_GAPS = 4;
/** Shares of tracked accounts failing now that make the state degraded, then failing. */
const DEGRADED_FAILING_SHARE = 0.1;
const FAILING_FAILING_SHARE = 0.5;

export function judgeHealth(facts: HealthFacts): Health {
  const reasons = [
    ...workerReasons(facts),
    ...runReasons(facts),
    ...lateness(facts),
    ...accountReasons(facts),
  ];
  const failing = reasons.filter((reason) => reason.state === "failing");
  const degraded = reasons.filter((reason) => reason.state === "degraded");
  const state: HealthState = failing.length > 0 ? "failing" : degraded.length > 0 ? "degraded" : "ok";
  return { state, reasons: [...failing, ...degraded] };
}

function workerReasons({ liveWorkers }: HealthFacts): HealthReason[] {
  if (liveWorkers === null)
    return [{ state: "degraded", text: "the queues did not answer: live workers and the next run unknown" }];
  if (liveWorkers === 0)
    return [{ state: "failing", text: "no worker is connected to the queues: no run will start" }];
  return [];
}

function runReasons({ running, lastFinished, now }: HealthFacts): HealthReason[] {
  const reasons: HealthReason[] = [];
  if (running?.stale) {
    reasons.push({
      state: "failing",
      text: `run #${running.runId} has sent no heartbeat for ${ago(now, running.heartbeatAt)}: its process died? The next run closes it as abandoned`,
    });
  }
  if (!lastFinished) return reasons;
  const run = `the last run (#${lastFinished.runId})`;
  if (lastFinished.status === "failed") {
    reasons.push({ state: "failing", text: `${run} failed: ${lastFinished.error ?? "no error recorded"}` });
  } else if (lastFinished.status === "interrupted") {
    reasons.push({ state: "degraded", text: `${run} was interrupted: ${lastFinished.error ?? "stopped"}` });
  }
  if (lastFinished.sourceOutcome === "refused" || lastFinished.sourceOutcome === "skipped") {
    reasons.push({
      state: "degraded",
      text: `${run}: the account source was ${lastFinished.sourceOutcome} (${lastFinished.sourceError ?? "no reason recorded"}); the tracked accounts were left as they were`,
    });
  }
  return reasons;
}

/**
 * A success is expected every schedule interval plus the time a run takes (that of the last success):
 * late past LATE_AFTER_GAPS of those, failing past FAILING_AFTER_GAPS. Without a schedule, runs are
 * manual and nothing is late.
 */
function lateness({ lastSuccess, scheduleIntervalMs, lastFinished, now }: HealthFacts): HealthReason[] {
  if (!lastSuccess) {
    // A failed last run already says failing; before any run has ended, this is a new install.
    return lastFinished?.status === "failed" ? [] : [{ state: "degraded", text: "no run has succeeded yet" }];
  }
  if (scheduleIntervalMs === null) return [];
  const gap = scheduleIntervalMs + (lastSuccess.finishedAt.getTime() - lastSuccess.startedAt.getTime());
  const age = now.getTime() - lastSuccess.finishedAt.getTime();
  const every = formatDuration(scheduleIntervalMs / 1000);
  const text = `the last successful run (#${lastSuccess.runId}) ended ${ago(now, lastSuccess.finishedAt)} ago; runs are due every ${every}`;
  if (age > FAILING_AFTER_GAPS * gap) return [{ state: "failing", text }];
  if (age > LATE_AFTER_GAPS * gap) return [{ state: "degraded", text }];
  return [];
}

function accountReasons({ accounts }: HealthFacts): HealthReason[] {
  if (accounts.tracked === 0 || accounts.failing === 0) return [];
  const share = accounts.failing / accounts.tracked;
  const text = `${accounts.failing} of ${accounts.tracked} tracked accounts are failing (${Math.round(share * 100)}%)`;
  if (share >= FAILING_FAILING_SHARE) return [{ state: "failing", text }];
  if (share >= DEGRADED_FAILING_SHARE) return [{ state: "degraded", text }];
  return [];
}

function ago(now: Date, then: Date): string {
  return formatDuration((now.getTime() - then.getTime()) / 1000);
}
