// One real run against the simulator, as `plugchat-sync sync` makes it, for tests of what a run stores:
// the client tries each account once (a failure is the account's at once) and has no rate cap.
import type { AccountSourceSettings } from "../../src/accounts/source/read-source.js";
import type { PrismaClient } from "../../src/db/prisma.js";
import type { Logger } from "../../src/logger.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import { runSync, type SyncOptions } from "../../src/sync/run-in-process.js";
import type { RunSummary } from "../../src/sync/types.js";
import { captureLogs } from "./logs.js";

export interface SimulatorSync {
  prisma: PrismaClient;
  simulator: { url: string };
  token: string;
  /** Where the run logs; a capture of its own when not given. */
  logger?: Logger;
  accountSource?: AccountSourceSettings;
}

export function syncWithSimulator(
  { prisma, simulator, token, logger = captureLogs().logger, accountSource }: SimulatorSync,
  options: Partial<SyncOptions> = {},
): Promise<RunSummary> {
  const client = createPlugchatClient({
    baseUrl: simulator.url,
    token,
    timeoutMs: 2_000,
    maxAttempts: 1,
    maxRps: 0,
    logger,
  });
  return runSync({ prisma, client, logger, accountSource }, { trigger: "cli", concurrency: 4, ...options });
}

/**
 * A client that retries like the real one (5 attempts) with short pauses, for tests of what retries
 * and outages do without waiting seconds between attempts.
 */
export function quickRetryClient(baseUrl: string, token: string, logger: Logger): PlugchatClient {
  return createPlugchatClient({
    baseUrl,
    token,
    timeoutMs: 2_000,
    maxAttempts: 5,
    maxRps: 0,
    minRetryDelayMs: 20,
    maxRetryDelayMs: 100,
    logger,
  });
}

/** The drift rows of one run, as the tests compare them, by account and field. */
export async function driftOfRun(prisma: PrismaClient, runId: number) {
  const rows = await prisma.accountDrift.findMany({
    where: { syncRunId: runId },
    orderBy: [{ accountId: "asc" }, { field: "asc" }],
  });
  return rows.map(({ accountId, field, oldValue, newValue }) => ({ accountId, field, oldValue, newValue }));
}
