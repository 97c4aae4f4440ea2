// One process that does nothing but sync, so that its peak RSS is the sync's own: a first run
// (baselines) then an unchanged rerun of every tracked account, against a simulator in another process.
//   node bench/children/memory.mjs <databaseUrl> <simulatorUrl> <concurrency>
// Prints one JSON line: peak RSS (MB) and each run's accounts and seconds.
import { createPrismaClient } from "../../dist/db/prisma.js";
import { createLogger } from "../../dist/logger.js";
import { createPlugchatClient } from "../../dist/plugchat/index.js";
import { runSync } from "../../dist/sync/run-in-process.js";
import { printTimedPasses } from "../lib/peak-rss.mjs";

const [databaseUrl, simulatorUrl, concurrency] = process.argv.slice(2);
const logger = createLogger({ level: "warn", pretty: false });
const client = createPlugchatClient({
  baseUrl: simulatorUrl,
  token: "bench-token",
  timeoutMs: 10_000,
  maxAttempts: 3,
  maxRps: 0,
  logger,
});
const prisma = createPrismaClient(databaseUrl);
await printTimedPasses(prisma, "runs", ["baseline", "unchanged"], async (phase) => {
  const summary = await runSync(
    { prisma, client, logger },
    { trigger: "cli", concurrency: Number(concurrency), batchSize: 500 },
  );
  if (summary.status !== "succeeded")
    throw new Error(`memory bench run ${phase}: ${JSON.stringify(summary)}`);
  return { accounts: summary.accountsTotal };
});
