// The README's first command: a real sync against the simulator, from an empty database to a drift
// report, so a new user sees what the worker does before giving it a Plugchat token.
import type { SourcePage } from "../accounts/source/read-source.js";
import { reconcileTrackedIds } from "../accounts/source/reconcile.js";
import type { Config } from "../config/index.js";
import { defaultMigrationsDir, migrate } from "../db/migrations/index.js";
import { withPrisma } from "../db/prisma.js";
import { dropDatabaseIfExists } from "../db/sql/databases.js";
import { driftSince } from "../db/sql/drift.js";
import { listMismatches, type MismatchChange } from "../db/sql/mismatch-list.js";
import { recentRuns } from "../db/sql/runs.js";
import { ExitCode, UserFacingError } from "../errors.js";
import { urlWithoutPassword } from "../lib/redact.js";
import type { Logger } from "../logger.js";
import { createPlugchatClient } from "../plugchat/index.js";
import { DRIFT_LIMIT, formatDrift, formatRuns } from "../report/format.js";
import { type Simulator, startSimulator } from "../simulator/index.js";
import { runSync } from "../sync/run-in-process.js";

const DEMO_TOKEN = "demo-token";
const DEMO_ACCOUNTS = 30;
const DEMO_DATABASE = "plugchat_sync_demo";

interface DemoOptions {
  config: Config;
  logger: Logger;
  /** A URL of the server to use (DATABASE_URL's, or the embedded server's); opened after the checks. */
  serverUrl: () => Promise<string>;
  print: (line: string) => void;
}

export async function runDemo({ config, logger, serverUrl, print }: DemoOptions): Promise<void> {
  if (config.plugchatToken) {
    throw new UserFacingError(
      "the demo only talks to its built-in Plugchat simulator, and a Plugchat token is set: unset PLUGCHAT_TOKEN and PLUGCHAT_TOKEN_FILE to run it (use `plugchat-sync sync` for the real API)",
      { exitCode: ExitCode.badConfig },
    );
  }
  const databaseUrl = demoDatabaseUrl(await serverUrl());
  const simulator = await startSimulator({
    token: DEMO_TOKEN,
    accounts: DEMO_ACCOUNTS,
    recordRequests: false,
  });
  try {
    print(`1. Plugchat simulator on ${simulator.url} with ${DEMO_ACCOUNTS} accounts`);
    await resetDemoDatabase(databaseUrl);
    const migrated = await migrate({ databaseUrl, migrationsDir: defaultMigrationsDir(), logger });
    print(`2. Database ${DEMO_DATABASE} (re)created; ${migrated.applied.length} migrations applied`);

    const client = createPlugchatClient({
      baseUrl: simulator.url,
      token: DEMO_TOKEN,
      timeoutMs: config.httpTimeoutMs,
      maxAttempts: config.syncMaxAttempts,
      maxRps: 0,
      logger,
    });
    await withPrisma(databaseUrl, async (prisma) => {
      const ids = simulator.listIds();
      const imported = await reconcileTrackedIds(prisma, [yourRecords(ids)], {
        rowsFrom: "the demo's records",
        limit: { maxShare: 1, howToOverride: "" },
      });
      print(
        `3. Imported ${imported.counts.added} account ids, with the externalId your records expect of each (Plugchat has no "list accounts": you keep the ids)`,
      );

      const sync = () =>
        runSync({ prisma, client, logger }, { trigger: "cli", concurrency: config.syncConcurrency });
      const first = await sync();
      print(
        `4. First sync: run #${first.runId} ${first.status}, ${first.accountsChanged} baselines stored, no drift yet; ${describeMismatches(await listMismatches(prisma))}`,
      );

      print(`5. Changed in Plugchat: ${changeSomeAccounts(simulator, ids)}`);

      const second = await sync();
      print(
        `6. Second sync: run #${second.runId} ${second.status}, ${second.driftCount} drift events, ${second.mismatches?.resolved ?? 0} mismatch resolved; now ${describeMismatches(await listMismatches(prisma))}\n`,
      );
      const since = first.startedAt;
      print(formatRuns(await recentRuns(prisma, 5)));
      print("");
      print(formatDrift(await driftSince(prisma, { since, limit: DRIFT_LIMIT }), since));
      print(`\nThe data stays in ${DEMO_DATABASE}: try ${psqlHint(config, databaseUrl)}.`);
    });
  } finally {
    await simulator.close();
  }
}

/**
 * What the integrator's records say, as an account source would return it: each id, and the
 * externalId expected of it (`cust-N`: the simulator's accounts have it, but for every 25th).
 */
function yourRecords(ids: readonly string[]): SourcePage {
  return { columns: ["id", "external_id"], rows: ids.map((id, index) => [id, `cust-${index + 1}`]) };
}

function describeMismatches(mismatches: readonly MismatchChange[]): string {
  if (mismatches.length === 0) return "no account disagrees with your records";
  const listed = mismatches.map(
    ({ accountId, field, expected, actual }) =>
      `${accountId} ${field}: expected ${JSON.stringify(expected)}, Plugchat has ${JSON.stringify(actual)}`,
  );
  return `${mismatches.length} disagreeing with your records (${listed.join("; ")})`;
}

/**
 * Changes four accounts in the simulator, one kind of drift each, and gives the account that
 * disagreed with your records the externalId they expect; says which.
 */
function changeSomeAccounts(simulator: Simulator, ids: readonly string[]): string {
  const [renamed, deactivated, rewired, deleted] = [ids[2], ids[6], ids[11], ids[19]] as [
    string,
    string,
    string,
    string,
  ];
  simulator.setAccount(renamed, { name: "Padaria Nova Ltda" });
  simulator.setAccount(deactivated, { active: false });
  simulator.setAccount(rewired, { onReceiveMessage: "https://hooks.example.com/v2/receive" });
  simulator.deleteAccount(deleted);
  const fixed = ids[24] as string;
  simulator.setAccount(fixed, { externalId: "cust-25" });
  return `${renamed} renamed, ${deactivated} deactivated, ${rewired} webhook changed, ${deleted} deleted, ${fixed} given the externalId your records expect`;
}

/** The demo's own database beside the configured one, so a demo never touches real data. */
function demoDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${DEMO_DATABASE}`;
  return url.toString();
}

async function resetDemoDatabase(databaseUrl: string): Promise<void> {
  const pg = (await import("pg")).default;
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await dropDatabaseIfExists(client, DEMO_DATABASE);
  } finally {
    await client.end();
  }
}

// On the embedded server, which stops when the demo ends, the hint keeps it up for psql first.
function psqlHint(config: Config, databaseUrl: string): string {
  const query = "-c 'SELECT * FROM drift_by_day'";
  if (config.databaseUrl !== undefined) return `\`psql ${urlWithoutPassword(databaseUrl)} ${query}\``;
  return `\`npx plugchat-sync db start && psql "$(npx plugchat-sync db url --database ${DEMO_DATABASE})" ${query}\``;
}
