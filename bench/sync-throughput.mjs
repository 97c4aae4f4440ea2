#!/usr/bin/env node
// Benchmark: how fast a sync goes against the simulator, for a first run (baselines), an unchanged
// rerun, and a rerun where a share of the accounts changed. Prints figures; asserts nothing.
//   npm run bench -- [accounts=10000] [concurrency=32] [batch=500] [changed=0.05]
// Uses its own database (plugchat_sync_bench beside DATABASE_URL), dropped and recreated each time.
import { parseArgs } from "node:util";
import pg from "pg";
import { trackAccounts } from "../dist/accounts/repository.js";
import { defaultMigrationsDir, migrate } from "../dist/db/migrations/index.js";
import { withPrisma } from "../dist/db/prisma.js";
import { createLogger } from "../dist/logger.js";
import { createPlugchatClient } from "../dist/plugchat/index.js";
import { startSimulator } from "../dist/simulator/index.js";
import { runSync } from "../dist/sync/run-sync.js";

const { values } = parseArgs({
  options: {
    accounts: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "32" },
    batch: { type: "string", default: "500" },
    changed: { type: "string", default: "0.05" },
  },
});
const accounts = Number(values.accounts);
const concurrency = Number(values.concurrency);
const batchSize = Number(values.batch);
const changedShare = Number(values.changed);

const base = new URL(process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/plugchat_sync");
const databaseUrl = new URL(base);
databaseUrl.pathname = "/plugchat_sync_bench";
const admin = new URL(base);
admin.pathname = "/postgres";

const logger = createLogger({ level: "warn", pretty: false });
const adminClient = new pg.Client({ connectionString: admin.toString() });
await adminClient.connect();
await adminClient.query('DROP DATABASE IF EXISTS "plugchat_sync_bench" WITH (FORCE)');
await adminClient.end();
await migrate({ databaseUrl: databaseUrl.toString(), migrationsDir: defaultMigrationsDir(), logger });

const simulator = await startSimulator({ token: "bench-token", accounts, recordRequests: false });
const client = createPlugchatClient({
  baseUrl: simulator.url,
  token: "bench-token",
  timeoutMs: 10_000,
  maxAttempts: 3,
  maxRps: 0,
  logger,
});

const rows = [];
try {
  await withPrisma(databaseUrl.toString(), async (prisma) => {
    const ids = simulator.listIds();
    let started = performance.now();
    await trackAccounts(prisma, ids);
    rows.push(["import ids", performance.now() - started, accounts]);

    const timed = async (label) => {
      started = performance.now();
      const summary = await runSync({ prisma, client, logger }, { trigger: "cli", concurrency, batchSize });
      rows.push([label, performance.now() - started, summary.accountsTotal, summary.driftCount]);
    };
    await timed("first sync (baselines)");
    await timed("unchanged rerun");
    const step = Math.max(1, Math.round(1 / changedShare));
    for (let index = 0; index < ids.length; index += step)
      simulator.setAccount(ids[index], { name: `renamed ${index}` });
    await timed(`rerun, ${Math.round(changedShare * 100)}% renamed`);
  });
} finally {
  await simulator.close();
}

console.log(`accounts=${accounts} concurrency=${concurrency} batch=${batchSize} node=${process.version}`);
for (const [label, ms, count, drift] of rows) {
  const rate = Math.round((count / ms) * 1000);
  console.log(
    `${label.padEnd(28)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${String(rate).padStart(7)} accounts/s${drift === undefined ? "" : `  drift ${drift}`}`,
  );
}
