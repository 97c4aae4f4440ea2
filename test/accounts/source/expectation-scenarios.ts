// What every account source must do with expected values, whatever its database: the same scenarios
// run against the real PostgreSQL (expectations-postgres.test.ts) and MariaDB (expectations-mariadb).
// Each run is a real `runSync` against the simulator, with the source read first.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../../src/db/prisma.js";
import type { PlugchatAccount } from "../../../src/plugchat/index.js";
import { type Simulator, startSimulator } from "../../../src/simulator/index.js";
import type { RunSummary } from "../../../src/sync/types.js";
import { createMigratedTestDatabase, type TestDatabase } from "../../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../../helpers/logs.js";
import { syncWithSimulator } from "../../helpers/simulator-sync.js";

/** One row of the integrator's `customers` table. */
export interface Customer {
  accountId: string;
  key: string | null;
  paying: boolean | null;
  hook: string | null;
  displayName: string | null;
}

/** A throwaway database of the integrator's, with a `customers` table of the columns above. */
export interface CustomersDatabase {
  url: string;
  setCustomers(customers: readonly Customer[]): Promise<void>;
  drop(): Promise<void>;
}

export interface CustomersBackend {
  /** Creates `customers (plugchat_account_id, customer_key, paying, hook, display_name)`. */
  create(): Promise<CustomersDatabase>;
}

const TOKEN = "expectations-token";
// Each spelling the issue promises: the reporting column's, the API's, and upper case.
const QUERY =
  "SELECT plugchat_account_id, customer_key AS external_id, paying AS active, hook AS onReceiveMessage, display_name AS NAME FROM customers";
const LONG_URL = `https://app.example.com/plugchat/${"x".repeat(2_000)}`;
const UNICODE_NAME = "Açaí & Pão de Queijo 🌱 Ltda";

/** Plugchat's side and the integrator's side of each account of the scenarios. */
const ACCOUNTS: Record<
  string,
  { plugchat: Partial<PlugchatAccount>; customer: Omit<Customer, "accountId"> }
> = {
  // Everything agrees: unicode, a 2,000-character URL, a boolean, NULL expecting null.
  "acc-same": {
    plugchat: { externalId: "k1", name: UNICODE_NAME, active: true, onReceiveMessage: LONG_URL },
    customer: { key: "k1", paying: true, hook: LONG_URL, displayName: UNICODE_NAME },
  },
  "acc-null": {
    plugchat: { externalId: null, name: "Null Ltda", active: false, onReceiveMessage: null },
    customer: { key: null, paying: false, hook: null, displayName: "Null Ltda" },
  },
  // Inactive in Plugchat while the customer pays, and the reverse.
  "acc-inactive": {
    plugchat: { externalId: "k2", name: "Inactive", active: false, onReceiveMessage: null },
    customer: { key: "k2", paying: true, hook: null, displayName: "Inactive" },
  },
  "acc-cancelled": {
    plugchat: { externalId: "k3", name: "Cancelled", active: true, onReceiveMessage: null },
    customer: { key: "k3", paying: false, hook: null, displayName: "Cancelled" },
  },
  // A mix-up at creation, a webhook left from a test, and '' expected where Plugchat has null.
  "acc-key": {
    plugchat: { externalId: "k-wrong", name: "Key", active: true, onReceiveMessage: null },
    customer: { key: "k4", paying: true, hook: null, displayName: "Key" },
  },
  "acc-hook": {
    plugchat: {
      externalId: "k5",
      name: "Hook",
      active: true,
      onReceiveMessage: "http://localhost:3000/dev-hook",
    },
    customer: { key: "k5", paying: true, hook: "https://app.example.com/plugchat/k5", displayName: "Hook" },
  },
  "acc-empty": {
    plugchat: { externalId: "k6", name: "Empty", active: true, onReceiveMessage: null },
    customer: { key: "k6", paying: true, hook: "", displayName: "Empty" },
  },
  // Plugchat answers 404; and one that fails (unverified: never a mismatch).
  "acc-gone": {
    plugchat: { externalId: "k7", name: "Gone", active: true, onReceiveMessage: null },
    customer: { key: "k7", paying: true, hook: null, displayName: "Gone" },
  },
  "acc-failing": {
    plugchat: { externalId: "k8", name: "Failing", active: true, onReceiveMessage: null },
    customer: { key: "k-other", paying: false, hook: null, displayName: "Failing" },
  },
};

/** What `account_mismatches` holds after the first run of the fixture. */
const FIRST_MISMATCHES = [
  { account_id: "acc-cancelled", field: "active", expected: "false", actual: "true" },
  { account_id: "acc-empty", field: "onReceiveMessage", expected: "", actual: null },
  { account_id: "acc-gone", field: "exists", expected: "true", actual: "false" },
  {
    account_id: "acc-hook",
    field: "onReceiveMessage",
    expected: "https://app.example.com/plugchat/k5",
    actual: "http://localhost:3000/dev-hook",
  },
  { account_id: "acc-inactive", field: "active", expected: "true", actual: "false" },
  { account_id: "acc-key", field: "externalId", expected: "k4", actual: "k-wrong" },
];

interface MismatchRow {
  account_id: string;
  name: string | null;
  field: string;
  expected: string | null;
  actual: string | null;
  since: Date;
  run_id: number;
}

export function defineExpectationScenarios(backend: CustomersBackend): void {
  let source: CustomersDatabase;
  let simulator: Simulator;
  let sync: TestDatabase;
  let prisma: PrismaClient;
  let logs: CapturedLogs;

  beforeAll(async () => {
    source = await backend.create();
    simulator = await startSimulator({ token: TOKEN, accounts: 0 });
  });
  afterAll(async () => {
    await source?.drop();
    await simulator?.close();
  });
  beforeEach(async () => {
    sync = await createMigratedTestDatabase();
    prisma = createPrismaClient(sync.url);
    logs = captureLogs();
    simulator.clearFaults();
    for (const [id, { plugchat }] of Object.entries(ACCOUNTS)) simulator.setAccount(id, plugchat);
    simulator.deleteAccount("acc-gone");
    simulator.setFault({ type: "status", status: 500 }, { accountId: "acc-failing" });
    await source.setCustomers(
      Object.entries(ACCOUNTS).map(([accountId, { customer }]) => ({ accountId, ...customer })),
    );
  });
  afterEach(async () => {
    await prisma.$disconnect();
    await sync.drop();
  });

  function run(query = QUERY): Promise<RunSummary> {
    const accountSource = { url: source.url, query, timeoutMs: 10_000, maxRemovalShare: 1 };
    return syncWithSimulator({ prisma, simulator, token: TOKEN, logger: logs.logger, accountSource });
  }

  async function mismatches(): Promise<MismatchRow[]> {
    return prisma.$queryRaw<MismatchRow[]>`SELECT * FROM account_mismatches ORDER BY account_id, field`;
  }

  async function openMismatches() {
    return (await mismatches()).map(({ account_id, field, expected, actual }) => ({
      account_id,
      field,
      expected,
      actual,
    }));
  }

  function mismatchLines(message: string, runId: number) {
    return logs
      .withMessage(message)
      .filter((line) => line.runId === runId)
      .map((line) => `${line.accountId} ${line.field}`)
      .sort();
  }

  it("compares each expected field with Plugchat's: null against '', unicode, a 2,000-character URL, booleans, 404 as exists", async () => {
    const summary = await run();
    expect(summary.accountSource?.outcome).toBe("applied");
    expect(await openMismatches()).toEqual(FIRST_MISMATCHES);
    const rows = await mismatches();
    expect(rows.every((row) => row.run_id === summary.runId)).toBe(true);
    expect(rows.find((row) => row.account_id === "acc-key")?.name).toBe("Key");
    expect(summary.mismatches).toEqual({ open: 6, opened: 6, resolved: 0 });
    expect(await prisma.syncRun.findUniqueOrThrow({ where: { id: summary.runId } })).toMatchObject({
      mismatchesOpen: 6,
      mismatchesOpened: 6,
      mismatchesResolved: 0,
    });
    // One warn line per new mismatch, with what was expected and what Plugchat has.
    expect(mismatchLines("account mismatch", summary.runId)).toEqual(
      FIRST_MISMATCHES.map((row) => `${row.account_id} ${row.field}`).sort(),
    );
    expect(
      logs.withMessage("account mismatch").find((line) => line.accountId === "acc-inactive"),
    ).toMatchObject({
      level: "warn",
      field: "active",
      expected: "true",
      actual: "false",
    });
  });

  it("leaves a failing account out (unverified), keeping its mismatch until it answers again", async () => {
    const first = await run();
    expect((await openMismatches()).map((row) => row.account_id)).not.toContain("acc-failing");
    simulator.setFault({ type: "status", status: 500 }, { accountId: "acc-hook" });
    const second = await run();
    expect((await openMismatches()).map((row) => row.account_id)).not.toContain("acc-hook");
    expect(second.mismatches).toEqual({ open: 5, opened: 0, resolved: 0 });
    expect(mismatchLines("account mismatch resolved", second.runId)).toEqual([]);

    simulator.clearFaults();
    simulator.setFault({ type: "status", status: 500 }, { accountId: "acc-failing" });
    const third = await run();
    const hook = (await mismatches()).find((row) => row.account_id === "acc-hook");
    expect(hook?.run_id, "the same mismatch, seen since the first run").toBe(first.runId);
    expect(third.mismatches).toEqual({ open: 6, opened: 0, resolved: 0 });
    expect(mismatchLines("account mismatch", third.runId)).toEqual([]);
  });

  it("says nothing more of a mismatch that persists, and resolves one fixed in Plugchat and one fixed in the records", async () => {
    const first = await run();
    const second = await run();
    expect(second.mismatches).toEqual({ open: 6, opened: 0, resolved: 0 });
    expect(mismatchLines("account mismatch", second.runId)).toEqual([]);
    expect((await mismatches()).every((row) => row.run_id === first.runId)).toBe(true);

    // Fixed in Plugchat: the account is activated.
    simulator.setAccount("acc-inactive", { active: true });
    const third = await run();
    expect(third.mismatches).toEqual({ open: 5, opened: 0, resolved: 1 });
    expect(mismatchLines("account mismatch resolved", third.runId)).toEqual(["acc-inactive active"]);

    // Fixed in the records, with no change in Plugchat: the customer's key is the one Plugchat has.
    await source.setCustomers(
      Object.entries(ACCOUNTS).map(([accountId, { customer }]) => ({
        accountId,
        ...customer,
        ...(accountId === "acc-key" ? { key: "k-wrong" } : {}),
      })),
    );
    const fourth = await run();
    expect(fourth.mismatches).toEqual({ open: 4, opened: 0, resolved: 1 });
    expect(mismatchLines("account mismatch resolved", fourth.runId)).toEqual(["acc-key externalId"]);
    expect(fourth.driftCount, "nothing changed in Plugchat").toBe(0);

    // The resolved spans stay for reporting, with when they began and ended.
    const spans = await prisma.accountMismatchSpan.findMany({
      where: { endedAt: { not: null } },
      orderBy: { accountId: "asc" },
    });
    expect(
      spans.map(({ accountId, field, expected, actual, beganRunId, endedRunId }) => ({
        accountId,
        field,
        expected,
        actual,
        beganRunId,
        endedRunId,
      })),
    ).toEqual([
      {
        accountId: "acc-inactive",
        field: "active",
        expected: "true",
        actual: "false",
        beganRunId: first.runId,
        endedRunId: third.runId,
      },
      {
        accountId: "acc-key",
        field: "externalId",
        expected: "k4",
        actual: "k-wrong",
        beganRunId: first.runId,
        endedRunId: fourth.runId,
      },
    ]);
  });

  it("skips the source, in one line naming the column and the accepted names, when a column names no field", async () => {
    await run();
    const summary = await run(`${QUERY.replace(" FROM customers", "")}, paying AS status FROM customers`);
    expect(summary.accountSource?.outcome).toBe("skipped");
    expect(summary.accountSource?.error).toMatch(/column "status" that names no synced field/);
    expect(summary.accountSource?.error).toMatch(/externalId \(external_id\)/);
    expect(summary.accountSource?.error).not.toContain("\n");
    // Nothing of the source changed: the expectations of the run before are kept.
    expect(await openMismatches()).toEqual(FIRST_MISMATCHES);
  });

  it("counts and names an expected value that cannot be one of its field, and keeps the rest of the row", async () => {
    const query =
      "SELECT plugchat_account_id, CASE WHEN plugchat_account_id = 'acc-inactive' THEN 'maybe' ELSE 'true' END AS active, customer_key AS external_id FROM customers";
    const summary = await run(query);
    expect(summary.accountSource?.outcome).toBe("applied");
    const [warning] = logs.withMessage(
      "account source returned expected values that cannot be values of their field: they are skipped",
    );
    expect(warning).toMatchObject({ invalid: 1 });
    expect(warning?.examples).toEqual([expect.stringMatching(/^acc-inactive active "maybe": not a boolean/)]);
    const expected = await prisma.accountExpectation.findMany({ where: { accountId: "acc-inactive" } });
    expect(expected.map((row) => row.field).sort()).toEqual(["exists", "externalId"]);
  });
}
