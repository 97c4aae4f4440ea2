// One process that does nothing but follow an account source, so that its peak RSS is the
// reconciliation's own: the tracked set made equal to the source's ids twice (first every id is new,
// then nothing changes), through the same reader and reconciliation a run uses.
//   node bench/children/account-source.mjs <databaseUrl> <sourceUrl> <query>
// Prints one JSON line: peak RSS (MB) and each pass's seconds and counts.
import { readSourceRows } from "../../build/accounts/source/read-source.js";
import { reconcileTrackedIds } from "../../build/accounts/source/reconcile.js";
import { createPrismaClient } from "../../build/db/prisma.js";
import { SOURCE_PAGE_SIZE } from "../../build/sync/account-source-step.js";
import { printTimedPasses } from "../lib/peak-rss.mjs";

const [databaseUrl, sourceUrl, query] = process.argv.slice(2);
const prisma = createPrismaClient(databaseUrl);
await printTimedPasses(prisma, "passes", ["first", "unchanged"], async (phase) => {
  const result = await reconcileTrackedIds(
    prisma,
    readSourceRows({ url: sourceUrl, query, timeoutMs: 600_000, pageSize: SOURCE_PAGE_SIZE }),
    { rowsFrom: "ACCOUNT_SOURCE_QUERY", limit: { maxShare: 0.25, howToOverride: "" } },
  );
  if (result.outcome !== "applied") throw new Error(`account source bench ${phase}: ${result.refusal}`);
  return { counts: result.counts };
});
