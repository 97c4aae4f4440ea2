// The worker's pruning, part of its periodic upkeep: a minute after start, then PRUNE_EVERY_MS after
// the end of each pass, one pass removes what the retention settings let go (src/retention/prune.ts),
// in small chunks, alongside any run. Of several workers, one prunes at a time; the others skip that
// pass. Logged at info only when a pass removed rows.
import type { PrismaClient } from "../../db/prisma.js";
import { oneLine } from "../../lib/text.js";
import type { Logger } from "../../logger.js";
import { throttledLog } from "../../observability/throttled-log.js";
import { type PruneResult, prune, type RetentionDays, totalRemoved } from "../../retention/prune.js";

const FIRST_PASS_AFTER_MS = 60_000;

export interface PruningOptions {
  prisma: PrismaClient;
  logger: Logger;
  days: RetentionDays;
  /** Time between passes; 0: the worker never prunes. */
  everyMs: number;
}

export interface Pruning {
  /** No new pass; a pass under way stops after its current chunk. Resolves once it has. */
  stop(): Promise<void>;
}

export function startPruning(options: PruningOptions): Pruning {
  const { prisma, logger } = options;
  if (options.everyMs === 0) return { stop: async () => undefined };
  const logProblem = throttledLog(logger, "warn");
  const stopping = new AbortController();
  let pass: Promise<void> | undefined;
  let timer: NodeJS.Timeout;

  const schedule = (delayMs: number) => {
    timer = setTimeout(runPass, delayMs);
    timer.unref();
  };
  function runPass(): void {
    pass = prune(prisma, { days: options.days, whenBusy: "skip", signal: stopping.signal })
      .then((result) => logPass(logger, result))
      .catch((error: unknown) =>
        logProblem(
          "prune",
          { err: oneLine((error as Error).message) },
          "pruning old rows failed: tried again later",
        ),
      )
      .finally(() => {
        pass = undefined;
        if (!stopping.signal.aborted) schedule(options.everyMs);
      });
  }
  // The first pass soon after start: workers restarted more often than PRUNE_EVERY_MS still prune.
  schedule(Math.min(options.everyMs, FIRST_PASS_AFTER_MS));

  return {
    stop: async () => {
      clearTimeout(timer);
      stopping.abort();
      await pass;
    },
  };
}

/** One info line when the pass removed rows, with the count of each table; otherwise at debug only. */
function logPass(logger: Logger, result: PruneResult): void {
  const total = totalRemoved(result);
  if (!result.ran) {
    logger.debug("pruning skipped: another worker is pruning");
    return;
  }
  if (total === 0) {
    logger.debug("pruning: nothing to remove");
    return;
  }
  const counts = Object.entries(result.removed)
    .filter(([, count]) => (count ?? 0) > 0)
    .map(([table, count]) => `${count} from ${table}`);
  logger.info({ removed: result.removed, total }, `pruned old rows: ${counts.join(", ")}`);
}
