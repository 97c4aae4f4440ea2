// How far a run is, in the figures a person watching it wants: done of total, a rate and an ETA.
// Pure, shared by the terminal progress line and the status page, so that both tell the same.

/** A run's progress as its row and batch rows tell it. */
export interface RunProgress {
  runId: number;
  startedAt: Date;
  accountsDone: number;
  /** Tracked accounts when the run opened; null for runs opened before the column existed. */
  accountsPlanned: number | null;
  batchesDone: number;
  batchesPlanned: number | null;
  changed: number;
  failed: number;
  notFound: number;
}

export interface ProgressFigures {
  /** The total to show: the plan, or what is done when there is no plan or it was outgrown. */
  total: number;
  /** 0 to 1; null without a plan. */
  fraction: number | null;
  accountsPerSecond: number;
  /** Seconds left at the rate so far; null until there is a rate, or without a plan. */
  etaSeconds: number | null;
}

export function progressFigures(progress: RunProgress, now: Date): ProgressFigures {
  const done = progress.accountsDone;
  // Accounts tracked after the run opened can make it do a little more than planned.
  const total = Math.max(progress.accountsPlanned ?? done, done);
  const elapsedSeconds = Math.max((now.getTime() - progress.startedAt.getTime()) / 1000, 0);
  const accountsPerSecond = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const planned = progress.accountsPlanned !== null;
  return {
    total,
    fraction: planned ? (total === 0 ? 1 : done / total) : null,
    accountsPerSecond,
    etaSeconds: planned && accountsPerSecond > 0 ? (total - done) / accountsPerSecond : null,
  };
}

/** "42 s", "3 min 05 s", "2 h 07 min": short enough for a progress line. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(Math.round(seconds), 0);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
