// A process that uses the embedded server keeps it running: when the server dies under it (kill -9,
// the OOM killer), the next check starts it again on the same port, under the data directory's lock
// and with this process's lease kept, as any command would start it. Without this, a worker would wait
// forever for a server that nobody starts. The check is cheap: it reads postmaster.pid.
import type { Logger } from "../../logger.js";
import type { Layout } from "./layout.js";
import { withLock } from "./lock.js";
import { ensureServer, runningServer } from "./server.js";

interface KeepAliveOptions {
  layout: Layout;
  port: number;
  logger: Logger;
  /** How often to look; default 2 s. */
  everyMs?: number;
}

export interface KeepAlive {
  /** Stops looking, after the check in progress (if any) is done. */
  stop(): Promise<void>;
}

export function keepServerAlive(options: KeepAliveOptions): KeepAlive {
  const { layout, port, logger } = options;
  let inProgress: Promise<void> | undefined;
  let lastProblem: string | undefined;
  const check = async () => {
    if (await runningServer(layout)) return;
    try {
      const result = await withLock(layout.lock, () => ensureServer(layout, port));
      lastProblem = undefined;
      if (result.started) {
        logger.warn(
          { dataDir: layout.dataDir, port: result.port },
          "the embedded PostgreSQL had stopped (killed or crashed): started it again",
        );
      }
    } catch (error) {
      // Said once per kind of problem, then tried again at each check.
      const problem = (error as Error).message;
      if (problem !== lastProblem)
        logger.error(
          { dataDir: layout.dataDir, err: problem },
          "could not start the embedded PostgreSQL again: retrying",
        );
      lastProblem = problem;
    }
  };
  const timer = setInterval(() => {
    inProgress ??= check().finally(() => {
      inProgress = undefined;
    });
  }, options.everyMs ?? 2_000);
  // A finished command must not stay alive for this.
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await inProgress;
    },
  };
}
