// How much of the machine's CPU the hypervisor took while a figure was measured. On a virtual machine,
// "steal" is time a virtual CPU was ready to run while the host ran something else: every process of
// the run (the sync, the simulator, PostgreSQL) waited for it. A latency-bound figure taken while the
// hypervisor took a few percent is lower by about as much (docs/benchmarks.md, "How each figure is
// measured"), so each one is reported with it.
import { readFileSync } from "node:fs";

/** Above this share of stolen CPU a measurement was not taken on a quiet machine. */
export const QUIET_STEAL_SHARE = 0.05;

/** The machine's CPU time so far, in clock ticks: all of it, and what was stolen; null off Linux. */
export function cpuTicks() {
  let line;
  try {
    line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is within user).
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((value) => !Number.isFinite(value))) return null;
  return { total: fields.reduce((sum, value) => sum + value, 0), steal: fields[7] };
}

/** The share of the machine's CPU time stolen between two `cpuTicks()`, or null when unknown. */
export function stolenShare(before, after) {
  if (before === null || after === null) return null;
  const total = after.total - before.total;
  return total > 0 ? Math.round(((after.steal - before.steal) / total) * 1000) / 1000 : null;
}

/** Runs `work`, and returns its result with the share of CPU time stolen meanwhile (`stolen`). */
export async function measuringSteal(work) {
  const before = cpuTicks();
  const result = await work();
  return { ...result, stolen: stolenShare(before, cpuTicks()) };
}

export const percent = (share) => `${(share * 100).toFixed(1)}%`;

/** What the hypervisor took during a measurement, for a report line; nothing when unknown. */
export function stolenNote(stolen) {
  return stolen == null ? "" : `, hypervisor took ${percent(stolen)} of the CPU`;
}
