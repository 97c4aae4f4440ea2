// The deployment gauges (tracked accounts by state, runs by status, last run and last success
// timestamps, the account source's last outcome, the database up): read from the real database after
// real runs of `sync` against the simulator, the same on every worker; read at most once per cache
// period however many scrapes come; no values, never stale ones, when the database fails or hangs.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { accountsByState, runFigures } from "../../src/db/sql/deployment.js";
import type { DeploymentSources } from "../../src/observability/deployment-gauges.js";
import { startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics, type Metrics, type MetricsOptions } from "../../src/observability/metrics.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";
import { samplesOf } from "../helpers/scrape.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "deployment-gauges-token";
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** /metrics of `metrics`, scraped over real HTTP as Prometheus does. */
async function scrape(metrics: Metrics): Promise<string> {
  const server = await startHealthServer({
    port: 0,
    host: "127.0.0.1",
    metrics,
    checks: {},
    logger: captureLogs().logger,
  });
  closers.push(server.close);
  return (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
}

/** The deployment gauges of one scrape, by metric and label value. */
async function deploymentGauges(metrics: Metrics) {
  const text = await scrape(metrics);
  return {
    accounts: samplesOf(text, "plugchat_sync_tracked_accounts"),
    runs: samplesOf(text, "plugchat_sync_recorded_runs"),
    lastRun: samplesOf(text, "plugchat_sync_last_run_timestamp_seconds"),
    lastSuccess: samplesOf(text, "plugchat_sync_last_success_timestamp_seconds")[""],
    source: samplesOf(text, "plugchat_sync_account_source_last_outcome"),
    databaseUp: samplesOf(text, "plugchat_sync_database_up"),
  };
}

/** A worker's metrics reading `prisma`, as the worker command wires them. */
function workerMetrics(prisma: PrismaClient, options: MetricsOptions = {}): Metrics {
  const metrics = createMetrics({ deploymentCacheMs: 0, ...options });
  metrics.setDeploymentSources({
    accounts: () => accountsByState(prisma),
    runs: () => runFigures(prisma),
    ping: () => prisma.$queryRawUnsafe("SELECT 1"),
    database: "external",
  });
  return metrics;
}

const seconds = (date: Date | null) => (date ? date.getTime() / 1000 : Number.NaN);

describe("the deployment gauges against the database", () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let simulator: Simulator;

  beforeEach(async () => {
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    simulator = await startSimulator({ token: TOKEN, accounts: 20 });
    closers.push(async () => {
      await simulator.close();
      await prisma.$disconnect();
      await database.drop();
    });
  });

  function sync(accountSource?: { url: string; query: string }) {
    return syncWithSimulator(
      {
        prisma,
        simulator,
        token: TOKEN,
        ...(accountSource
          ? { accountSource: { ...accountSource, timeoutMs: 5_000, maxRemovalShare: 1 } }
          : {}),
      },
      { concurrency: 4, batchSize: 10 },
    );
  }

  it("count the accounts by state and the runs of `sync` by status, the same on every worker", async () => {
    const workers = [workerMetrics(prisma), workerMetrics(prisma)];
    const before = await deploymentGauges(workers[0] as Metrics);
    expect(before.accounts).toEqual({ active: 0, inactive: 0, failing: 0, missing: 0, pending: 0 });
    expect(before.runs).toEqual({ running: 0, succeeded: 0, partial: 0, failed: 0, interrupted: 0 });
    expect(before.lastSuccess).toBe(0);
    expect(before.source).toEqual({ applied: 0, refused: 0, skipped: 0 });
    expect(before.databaseUp).toEqual({ external: 1 });

    const ids = simulator.listIds();
    // acc-00010 and acc-00020 are inactive on Plugchat; acc-99999 is unknown there (404).
    await prisma.account.createMany({ data: [...ids, "acc-99999"].map((id) => ({ id })) });
    simulator.setFault({ type: "status", status: 500 }, { accountId: ids[0] as string });
    const first = await sync();
    expect(first.status).toBe("partial");
    // Tracked after the run: never fetched.
    await prisma.account.create({ data: { id: "acc-77777" } });

    for (const metrics of workers) {
      const gauges = await deploymentGauges(metrics);
      expect(gauges.accounts).toEqual({ active: 17, inactive: 2, failing: 1, missing: 1, pending: 1 });
      expect(gauges.runs).toEqual({ running: 0, succeeded: 0, partial: 1, failed: 0, interrupted: 0 });
      expect(gauges.lastRun).toEqual({
        succeeded: 0,
        partial: seconds(first.finishedAt),
        failed: 0,
        interrupted: 0,
      });
      expect(gauges.lastSuccess).toBe(seconds(first.finishedAt));
      expect(gauges.source).toEqual({ applied: 0, refused: 0, skipped: 0 });
    }

    // A run whose account source cannot be reached (skipped), then one that applies it.
    simulator.clearFaults();
    const second = await sync({
      url: "postgresql://postgres@127.0.0.1:1/nowhere",
      query: "SELECT 'acc-00001'",
    });
    expect(second.accountSource?.outcome).toBe("skipped");
    let gauges = await deploymentGauges(workers[1] as Metrics);
    expect(gauges.source).toEqual({ applied: 0, refused: 0, skipped: 1 });
    expect(gauges.lastSuccess).toBe(seconds(second.finishedAt));
    expect(gauges.runs[second.status]).toBeGreaterThanOrEqual(1);

    const third = await sync({
      url: database.url,
      query: "SELECT id FROM accounts WHERE id LIKE 'acc-000%'",
    });
    expect(third.accountSource?.outcome).toBe("applied");
    gauges = await deploymentGauges(workers[0] as Metrics);
    expect(gauges.source).toEqual({ applied: 1, refused: 0, skipped: 0 });
    expect(gauges.accounts).toEqual({ active: 18, inactive: 2, failing: 0, missing: 0, pending: 0 });
    expect(Object.values(gauges.runs).reduce((sum, runs) => sum + runs, 0)).toBe(3);
    expect(gauges.lastSuccess).toBe(seconds(third.finishedAt));
  });

  it("show no figures but the database down when the database does not answer", async () => {
    const logs = captureLogs();
    const gone = createPrismaClient(database.url.replace(/:\d+\//, ":1/"));
    closers.push(() => gone.$disconnect());
    const gauges = await deploymentGauges(workerMetrics(gone, { logger: logs.logger }));
    expect(gauges).toEqual({
      accounts: {},
      runs: {},
      lastRun: {},
      lastSuccess: undefined,
      source: {},
      databaseUp: { external: 0 },
    });
    expect(logs.withMessage("account states unavailable for metrics")).toHaveLength(1);
    expect(logs.withMessage("sync database unreachable for metrics")).toHaveLength(1);
  });
});

describe("the deployment gauges' sources", () => {
  function countingSources(reads: Record<string, number>): DeploymentSources {
    const count = (name: string) => {
      reads[name] = (reads[name] ?? 0) + 1;
    };
    return {
      accounts: async () => {
        count("accounts");
        return [{ state: "active", accounts: reads.accounts ?? 0 }];
      },
      runs: async () => {
        count("runs");
        return { byStatus: [], lastSourceOutcome: null };
      },
      ping: async () => count("ping"),
      database: "embedded",
    };
  }

  it("are read at most once per cache period, however many scrapes come at once", async () => {
    const reads: Record<string, number> = {};
    const metrics = createMetrics({ deploymentCacheMs: 60_000 });
    metrics.setDeploymentSources(countingSources(reads));
    const scrapes = await Promise.all([1, 2, 3].map(() => deploymentGauges(metrics)));
    scrapes.push(await deploymentGauges(metrics));
    expect(scrapes.map((gauges) => gauges.accounts.active)).toEqual([1, 1, 1, 1]);
    expect(scrapes.map((gauges) => gauges.databaseUp)).toEqual(Array(4).fill({ embedded: 1 }));
    expect(reads).toEqual({ accounts: 1, runs: 1, ping: 1 });

    const uncached = createMetrics({ deploymentCacheMs: 0 });
    const uncachedReads: Record<string, number> = {};
    uncached.setDeploymentSources(countingSources(uncachedReads));
    await deploymentGauges(uncached);
    await deploymentGauges(uncached);
    // Uncached, each gauge of the runs reads them for itself.
    expect(uncachedReads).toMatchObject({ accounts: 2, ping: 2 });
    expect(uncachedReads.runs).toBeGreaterThanOrEqual(2);
  });

  it("show no values, never stale ones, when a read fails or hangs; none without sources", async () => {
    const logs = captureLogs();
    const metrics = createMetrics({ logger: logs.logger, deploymentCacheMs: 0, deploymentTimeoutMs: 100 });
    let fail = false;
    const reads: Record<string, number> = {};
    const working = countingSources(reads);
    metrics.setDeploymentSources({
      ...working,
      accounts: () => (fail ? Promise.reject(new Error("database is down")) : working.accounts()),
      runs: () => (fail ? new Promise(() => {}) : working.runs()),
      ping: () => (fail ? Promise.reject(new Error("database is down")) : working.ping()),
    });
    expect((await deploymentGauges(metrics)).accounts).toMatchObject({ active: 1 });
    fail = true;
    const failed = await deploymentGauges(metrics);
    expect(failed).toEqual({
      accounts: {},
      runs: {},
      lastRun: {},
      lastSuccess: undefined,
      source: {},
      databaseUp: { embedded: 0 },
    });
    expect(logs.withMessage("account states unavailable for metrics")).toHaveLength(1);
    expect(logs.withMessage("runs unavailable for metrics").length).toBeGreaterThan(0);

    const none = await deploymentGauges(createMetrics());
    expect(none).toEqual({ ...failed, databaseUp: {} });
  });
});
