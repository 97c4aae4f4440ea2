// What a run's batches write: one write of each account row whose data changed (its status set in the
// same UPDATE), and the tail of small batches a run plans and records. One database for the file: the
// tests run in order, the first one's first run storing the baselines.
import { describe, expect, it } from "vitest";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "batch-writes-token";
const ACCOUNTS = 300;
const BATCH_SIZE = 100;

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

const sync = () =>
  syncWithSimulator(
    { prisma: setup.prisma, simulator: setup.simulator, token: TOKEN },
    { batchSize: BATCH_SIZE },
  );

describe("an account whose data a batch writes", () => {
  /** Accounts by the number of times their row was written since the last call. */
  const writesPerAccount = async () => {
    const rows = await setup.prisma.$queryRaw<{ writes: number; accounts: number }[]>`
      SELECT writes, count(*)::int AS accounts
        FROM (SELECT count(*)::int AS writes FROM account_writes GROUP BY account_id) AS per_account
       GROUP BY writes ORDER BY writes`;
    await setup.prisma.$executeRaw`TRUNCATE account_writes`;
    return rows;
  };

  it("is written once: its first sync, and a run that finds it changed", async () => {
    // Counts every write of an account row, whatever its columns.
    await setup.prisma.$executeRawUnsafe(`
      CREATE TABLE account_writes (account_id text NOT NULL);
      CREATE FUNCTION count_account_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO account_writes VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER count_account_writes AFTER UPDATE ON accounts
        FOR EACH ROW EXECUTE FUNCTION count_account_write();`);

    await sync();
    expect(await writesPerAccount()).toEqual([{ writes: 1, accounts: ACCOUNTS }]);

    const renamed = setup.simulator.listIds().slice(0, 7);
    for (const id of renamed) setup.simulator.setAccount(id, { name: `renamed ${id}` });
    const summary = await sync();

    expect(summary.accountsChanged).toBe(renamed.length);
    expect(await writesPerAccount()).toEqual([{ writes: 1, accounts: renamed.length }]);
    const states = await setup.prisma.$queryRaw<{ last_status: string; synced_now: boolean }[]>`
      SELECT DISTINCT last_status, last_synced_at = last_attempt_at AS synced_now
        FROM accounts WHERE id = ANY(${renamed}::text[])`;
    expect(states).toEqual([{ last_status: "ok", synced_now: true }]);
  });
});

describe("a run's batches", () => {
  it("are full ones while two are left, then a tail that halves down to 32, as planned and recorded", async () => {
    const summary = await sync();

    expect(summary.status).toBe("succeeded");
    const batches = await setup.prisma.$queryRaw<{ accounts: number }[]>`
      SELECT accounts FROM sync_run_batches WHERE run_id = ${summary.runId} ORDER BY batch_index`;
    expect(batches.map((batch) => batch.accounts)).toEqual([100, 100, 50, 32, 18]);
    const [run] = await setup.prisma.$queryRaw<{ batches_planned: number }[]>`
      SELECT batches_planned FROM sync_runs WHERE id = ${summary.runId}`;
    expect(run?.batches_planned).toBe(5);
  });
});
