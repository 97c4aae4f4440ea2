// A progress line on a terminal, redrawn in place (cli-progress draws it). Only when the stream is a
// terminal: piped or redirected, nothing is written, and the logs stay JSON lines.
import cliProgress from "cli-progress";
import { formatDuration, progressFigures, type RunProgress } from "../progress/figures.js";

interface ProgressLine {
  update(progress: RunProgress): void;
  /** Leaves the last drawing on its line and moves on; safe to call twice. */
  stop(): void;
}

interface CountLine {
  /** `done` of `total` items so far. */
  update(done: number, total: number): void;
  stop(): void;
}

const NO_LINE = { update: () => undefined, stop: () => undefined };

/** A run's progress: accounts done of the plan, accounts/s, ETA, changed / failed / not found. */
export function runProgressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const bar = barOn(
    stream,
    "run #{runId} {bar} {value}/{total} accounts{batches} | {rate}/s | ETA {etaText} | changed {changed}, failed {failed}, not found {notFound}",
  );
  if (!bar) return NO_LINE;
  const line = new BarLine(bar);
  return {
    update(progress) {
      const figures = progressFigures(progress, new Date());
      line.draw(figures.total, progress.accountsDone, {
        runId: progress.runId,
        batches:
          progress.batchesPlanned === null
            ? ""
            : ` (batch ${progress.batchesDone}/${Math.max(progress.batchesPlanned, progress.batchesDone)})`,
        rate: figures.accountsPerSecond.toFixed(1),
        // Not `eta`: cli-progress computes a token of that name itself.
        etaText: figures.etaSeconds === null ? "-" : formatDuration(figures.etaSeconds),
        changed: progress.changed,
        failed: progress.failed,
        notFound: progress.notFound,
      });
    },
    stop: () => line.stop(),
  };
}

/** Items done of a total, with their rate and an ETA (e.g. account ids written by an import). */
export function countProgressLine(label: string, stream: NodeJS.WriteStream = process.stderr): CountLine {
  const bar = barOn(stream, `${label} {bar} {value}/{total} | {rate}/s | ETA {etaText}`);
  if (!bar) return NO_LINE;
  const line = new BarLine(bar);
  const startedAt = Date.now();
  return {
    update(done, total) {
      const seconds = (Date.now() - startedAt) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      line.draw(total, done, {
        rate: rate.toFixed(0),
        etaText: rate > 0 ? formatDuration((total - done) / rate) : "-",
      });
    },
    stop: () => line.stop(),
  };
}

/** A bar started on its first drawing; stopping leaves the last drawing on its line. */
class BarLine {
  private started = false;

  constructor(private readonly bar: cliProgress.SingleBar) {}

  draw(total: number, value: number, payload: Record<string, unknown>): void {
    if (!this.started) {
      this.bar.start(total, value, payload);
      this.started = true;
      return;
    }
    this.bar.setTotal(total);
    this.bar.update(value, payload);
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

function barOn(stream: NodeJS.WriteStream, format: string): cliProgress.SingleBar | null {
  if (stream.isTTY !== true) return null;
  return new cliProgress.SingleBar(
    {
      stream,
      format,
      barsize: 20,
      fps: 5,
      hideCursor: true,
      // Log lines written meanwhile would otherwise stay until the figures change.
      forceRedraw: true,
      // The line never wraps: a narrow terminal cuts it instead of scrolling a new copy each redraw.
      linewrap: false,
      emptyOnZero: true,
    },
    cliProgress.Presets.shades_classic,
  );
}
