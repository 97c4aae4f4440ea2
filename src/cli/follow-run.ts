// Follows a run from its row (any process may be running it: `trigger --wait` watches the workers'),
// drawing its progress line on a terminal. Not a terminal: it does nothing, not even a query.
import type { PrismaClient } from "../db/prisma.js";
import { runProgress } from "../status/queries.js";
import { runProgressLine } from "./progress-line.js";

export interface RunFollower {
  /** Stops following and leaves the last drawing; call it before printing the summary. */
  stop(): Promise<void>;
}

export function followRun(
  prisma: PrismaClient,
  runId: number,
  stream: NodeJS.WriteStream = process.stderr,
  pollMs = 1_000,
): RunFollower {
  if (stream.isTTY !== true) return { stop: async () => undefined };
  const line = runProgressLine(stream);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  const poll = async () => {
    // A failed read only skips a drawing: following is a courtesy, the wait itself reports errors.
    const found = await runProgress(prisma, runId).catch(() => null);
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
      line.stop();
    },
  };
}
