// What a run's batches write: the tail of small batches a run plans and records, and one write of each
// account row whose data changed (its status set in the same UPDATE).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "batch-writes-token";
const ACCOUNTS = 300;
const BATCH_SIZE = 100;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;

const sync = () => syncWithSimulator({ prisma, simulator, token: TOKEN }, { batchSize: BATCH_SIZE });

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
});

afterAll(async () => {
  await simulator.close();
});

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
});

afterEach(async () => {
  await prisma.$disconnect();
  await database.drop();
});

describe("a run's batches", () => {
  it("are full ones, then a tail that halves down to 32, as planned and recorded", async () => {
    const summary = await sync();

    expect(summary.status).toBe("succeeded");
    const batches = await prisma.$queryRaw<{ accounts: number }[]>`
      SELECT accounts FROM sync_run_batches WHERE run_id = ${summary.runId} ORDER BY batch_index`;
    expect(batches.map((batch) => batch.accounts)).toEqual([100, 100, 50, 32, 18]);
    const [run] = await prisma.$queryRaw<{ batches_planned: number }[]>`
      SELECT batches_planned FROM sync_runs WHERE id = ${summary.runId}`;
    expect(run?.batches_planned).toBe(5);
  });
});

describe("an account whose data a batch writes", () => {
  beforeEach(async () => {
    // Counts every write of an account row, whatever its columns.
    await prisma.$executeRawUnsafe(`
      CREATE TABLE account_writes (account_id text NOT NULL);
      CREATE FUNCTION count_account_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO account_writes VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER count_account_writes AFTER UPDATE ON accounts
        FOR EACH ROW EXECUTE FUNCTION count_account_write();`);
  });

  const writesPerAccount = async () => {
    const rows = await prisma.$queryRaw<{ writes: number; accounts: number }[]>`
      SELECT writes, count(*)::int AS accounts
        FROM (SELECT count(*)::int AS writes FROM account_writes GROUP BY account_id) AS per_account
       GROUP BY writes ORDER BY writes`;
    await prisma.$executeRaw`TRUNCATE account_writes`;
    return rows;
  };

  it("is written once: its first sync, and a run that finds it changed", async () => {
    await sync();
    expect(await writesPerAccount()).toEqual([{ writes: 1, accounts: ACCOUNTS }]);

    const renamed = simulator.listIds().slice(0, 7);
    for (const id of renamed) simulator.setAccount(id, { name: `renamed ${id}` });
    const summary = await sync();

    expect(summary.accountsChanged).toBe(renamed.length);
    expect(await writesPerAccount()).toEqual([{ writes: 1, accounts: renamed.length }]);
    const states = await prisma.$queryRaw<{ last_status: string; synced_now: boolean }[]>`
      SELECT DISTINCT last_status, last_synced_at = last_attempt_at AS synced_now
        FROM accounts WHERE id = ANY(${renamed}::text[])`;
    expect(states).toEqual([{ last_status: "ok", synced_now: true }]);
  });
});
