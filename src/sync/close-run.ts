// Closing a run: its status decided once, and, in the same transaction, the accounts compared with
// what the integrator's records expect (account_mismatches). New and resolved mismatches are logged
// once, when they are news; one that persists says nothing more.
import type { PrismaClient } from "../db/prisma.js";
import type { MismatchChange } from "../db/sql/mismatch-list.js";
import { type MismatchRefresh, recordMismatchCounts, refreshMismatches } from "../db/sql/mismatches.js";
import { closeRun } from "../db/sql/runs.js";
import type { Logger } from "../logger.js";

/** Mismatch lines logged one by one per run; past this, one line counts the rest. */
const MAX_MISMATCH_LINES = 100;

/**
 * Closes run `runId` unless it is closed already (see `closeRun`) and refreshes the mismatches.
 * Returns null when another call closed it first.
 */
export async function closeRunAndCompare(
  prisma: PrismaClient,
  runId: number,
  error: string | null,
  interrupted = false,
): Promise<MismatchRefresh | null> {
  return prisma.$transaction(
    async (tx) => {
      if (!(await closeRun(tx, runId, error, interrupted))) return null;
      const refresh = await refreshMismatches(tx, runId);
      await recordMismatchCounts(tx, runId, {
        open: refresh.open,
        opened: refresh.opened.length,
        resolved: refresh.resolved.length,
      });
      return refresh;
    },
    { timeout: 600_000, maxWait: 30_000 },
  );
}

/** One warn line per new mismatch and one info line per resolved one, after the commit. */
export function logMismatches(logger: Logger, refresh: MismatchRefresh): void {
  logEach(logger, "warn", refresh.opened, "account mismatch");
  logEach(logger, "info", refresh.resolved, "account mismatch resolved");
}

function logEach(
  logger: Logger,
  level: "warn" | "info",
  changes: readonly MismatchChange[],
  message: string,
): void {
  for (const change of changes.slice(0, MAX_MISMATCH_LINES)) {
    const { accountId, field, expected, actual } = change;
    logger[level]({ accountId, field, expected, actual }, message);
  }
  const more = changes.length - MAX_MISMATCH_LINES;
  if (more > 0) {
    logger[level]({ more }, `${message}: ${more} more not logged one by one (see account_mismatches)`);
  }
}
