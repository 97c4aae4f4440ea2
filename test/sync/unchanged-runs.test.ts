// An unchanged run writes no account row: the accounts it found unchanged after a success are listed in
// their batch's row, and account_current_state (and `accounts list`) count that batch's time as their
// last sync and last attempt. A later write of the row (a failure, a 404) keeps that time.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { accountsPage } from "../../src/db/sql/accounts.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

const TOKEN = "unchanged-runs-token";
const ACCOUNTS = 6;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let client: PlugchatClient;

function sync() {
  return runSync(
    { prisma, client, logger: captureLogs().logger },
    { trigger: "cli", concurrency: 4, batchSize: 4 },
  );
}

interface State {
  account_id: string;
  last_status: string;
  last_synced_at: Date | null;
  last_attempt_at: Date | null;
}

async function currentState(): Promise<Map<string, State>> {
  const rows = await prisma.$queryRaw<State[]>`
    SELECT account_id, last_status, last_synced_at, last_attempt_at FROM account_current_state`;
  return new Map(rows.map((row) => [row.account_id, row]));
}

/** Each account row's version: changes with any write of the row, a lock included. */
async function rowVersions(): Promise<Record<string, string>> {
  const rows = await prisma.$queryRaw<{ id: string; version: string }[]>`
    SELECT id, xmin::text || ' ' || xmax::text || ' ' || ctid::text AS version FROM accounts`;
  return Object.fromEntries(rows.map((row) => [row.id, row.version]));
}

/** The written_at of the last run's batches, each account's batch's. */
async function lastRunBatchTimes(): Promise<Map<string, Date>> {
  const rows = await prisma.$queryRaw<{ id: string; written_at: Date }[]>`
    SELECT unnest(confirmed_ids) AS id, written_at FROM sync_run_batches
     WHERE run_id = (SELECT max(id) FROM sync_runs)`;
  return new Map(rows.map((row) => [row.id, row.written_at]));
}

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
});

afterAll(async () => {
  await simulator.close();
});

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  client = createPlugchatClient({
    baseUrl: simulator.url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 1,
    maxRps: 0,
    logger: captureLogs().logger,
  });
  simulator.clearFaults();
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
});

afterEach(async () => {
  await prisma.$disconnect();
  await database.drop();
});

describe("an unchanged run", () => {
  it("writes no account row, and account_current_state counts its batches' time as each account's last sync", async () => {
    await sync();
    const versions = await rowVersions();
    const before = await currentState();

    const summary = await sync();

    expect(summary).toMatchObject({ status: "succeeded", accountsUnchanged: ACCOUNTS });
    expect(await rowVersions()).toEqual(versions);
    const batchTimes = await lastRunBatchTimes();
    expect([...batchTimes.keys()].sort()).toEqual(simulator.listIds());
    for (const [id, state] of await currentState()) {
      expect(state.last_status).toBe("ok");
      expect(state.last_synced_at).toEqual(batchTimes.get(id));
      expect(state.last_attempt_at).toEqual(batchTimes.get(id));
      expect(state.last_synced_at?.getTime()).toBeGreaterThan(before.get(id)?.last_synced_at?.getTime() ?? 0);
    }
  });

  it("shows the same times in `accounts list` (accountsPage) as account_current_state", async () => {
    await sync();
    await sync();
    await sync();

    const page = await accountsPage(prisma, { pageSize: 100 });
    const state = await currentState();
    expect(page).toHaveLength(ACCOUNTS);
    for (const row of page) {
      expect(row.lastSyncedAt).toEqual(state.get(row.id)?.last_synced_at);
      expect(row.lastAttemptAt).toEqual(state.get(row.id)?.last_attempt_at);
    }
  });
});

describe("after unchanged runs", () => {
  it("an account the latest runs did not reach (removed, then tracked again) keeps the time of its last confirmation", async () => {
    await sync();
    await sync();
    const [away] = simulator.listIds() as [string];
    const confirmed = (await currentState()).get(away);
    await prisma.account.update({ where: { id: away }, data: { tracked: false } });
    await sync();
    await sync();
    await prisma.account.update({ where: { id: away }, data: { tracked: true } });

    const state = (await currentState()).get(away);
    expect(state?.last_synced_at).toEqual(confirmed?.last_synced_at);
    expect(state?.last_attempt_at).toEqual(confirmed?.last_synced_at);
    const row = await prisma.account.findUniqueOrThrow({ where: { id: away } });
    expect(row.lastSyncedAt?.getTime()).toBeLessThan(confirmed?.last_synced_at?.getTime() ?? 0);
  });

  it("a failure and a 404 keep the last success's time as last_synced_at, in the view and in the row", async () => {
    await sync();
    await sync();
    const [failing, missing] = simulator.listIds() as [string, string];
    const confirmed = await currentState();
    simulator.setFault({ type: "status", status: 500 }, { accountId: failing });
    simulator.deleteAccount(missing);

    await sync();

    const state = await currentState();
    for (const id of [failing, missing]) {
      const lastSuccess = confirmed.get(id)?.last_synced_at;
      expect(state.get(id)?.last_synced_at).toEqual(lastSuccess);
      expect(state.get(id)?.last_attempt_at?.getTime()).toBeGreaterThan(lastSuccess?.getTime() ?? Infinity);
    }
    expect(state.get(failing)?.last_status).toBe("failed");
    expect(state.get(missing)?.last_status).toBe("not_found");
    const rows = await prisma.account.findMany({ where: { id: { in: [failing, missing] } } });
    for (const row of rows) expect(row.lastSyncedAt).toEqual(confirmed.get(row.id)?.last_synced_at);
  });

  it("an account that failed and answers unchanged again is written: ok, synced now, no failure left", async () => {
    await sync();
    const [failing] = simulator.listIds() as [string];
    simulator.setFault({ type: "status", status: 500 }, { accountId: failing });
    await sync();
    simulator.clearFaults();

    await sync();

    const row = await prisma.account.findUniqueOrThrow({ where: { id: failing } });
    expect(row).toMatchObject({
      lastStatus: "ok",
      consecutiveFailures: 0,
      failingSince: null,
      lastError: null,
    });
    expect(row.lastSyncedAt).toEqual(row.lastAttemptAt);
    expect((await currentState()).get(failing)?.last_synced_at).toEqual(row.lastSyncedAt);
  });
});
