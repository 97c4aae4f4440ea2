// Follows a run from its row (any process may be running it: `trigger --wait` watches the workers'),
// drawing its progress line on a terminal. Not a terminal: it does nothing, not even a query.
import type { PrismaClient } from "../db/prisma.js";
import { runProgress } from "../status/queries.js";
import { runProgressLine } from "./progress-line.js";

export interface RunFollower {
  /** Draws the run as it stands now, then stops following; call it before printing the summary. */
  stop(): Promise<void>;
  /** Stops following at once, leaving the line as it is drawn (the cursor shown again): on a signal. */
  cancel(): void;
}

export function followRun(
  prisma: PrismaClient,
  runId: number,
  stream: NodeJS.WriteStream = process.stderr,
  pollMs = 1_000,
): RunFollower {
  if (stream.isTTY !== true) return { stop: async () => undefined, cancel: () => undefined };
  const line = runProgressLine(stream);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  // A failed read only skips a drawing: following is a courtesy, the wait itself reports errors.
  const read = () => runProgress(prisma, runId).catch(() => null);
  const poll = async () => {
    const found = await read();
    if (stopped || !found) return;
    line.update(found.progress);
    if (found.status !== "running") return;
    timer = setTimeout(() => {
      polling = poll();
    }, pollMs);
    timer.unref();
  };
  polling = poll();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await polling;
      // The wait ends when the run closes, up to a poll after the last drawing: draw the closed run.
      const closed = await read();
      if (closed) line.update(closed.progress);
      line.stop();
    },
    cancel() {
      stopped = true;
      clearTimeout(timer);
      line.stop();
    },
  };
}
