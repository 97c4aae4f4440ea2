// plugchat_sync_mismatches{field}: read from the database's account_mismatches view after real runs
// against the simulator, the same figures whoever scrapes; a field whose mismatches are resolved shows
// 0; the database is read at most once per cache period however many scrapes come.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { mismatchCountsByField } from "../../src/db/sql/mismatches.js";
import { startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics, type Metrics } from "../../src/observability/metrics.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { EXISTS_FIELD, SYNCED_FIELDS } from "../../src/sync/drift.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { setExpectations, viewCountsByField } from "../helpers/expectations.js";
import { captureLogs } from "../helpers/logs.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "mismatch-gauge-token";
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** The gauge's values by field, scraped over real HTTP as Prometheus does. */
async function scrapeGauge(metrics: Metrics): Promise<Record<string, number>> {
  const server = await startHealthServer({
    port: 0,
    host: "127.0.0.1",
    metrics,
    checks: {},
    logger: captureLogs().logger,
  });
  closers.push(server.close);
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  expect(text).toContain("# TYPE plugchat_sync_mismatches gauge");
  const values = [...text.matchAll(/^plugchat_sync_mismatches\{field="([^"]+)"\} (\d+)$/gm)];
  return Object.fromEntries(values.map(([, field, value]) => [field as string, Number(value)]));
}

/** Every field that can be expected at 0, then `counts`. */
function withZeros(counts: Record<string, number>): Record<string, number> {
  const zeros = Object.fromEntries([...SYNCED_FIELDS, EXISTS_FIELD].map((field) => [field, 0]));
  return { ...zeros, ...counts };
}

describe("plugchat_sync_mismatches against the database", () => {
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

  function sync() {
    return syncWithSimulator({ prisma, simulator, token: TOKEN }, { concurrency: 4, batchSize: 10 });
  }

  it("equals the view's counts by field on every worker, and shows 0 once a field's mismatches are resolved", async () => {
    const ids = simulator.listIds();
    await prisma.account.createMany({ data: ids.map((id) => ({ id })) });
    const [first, second, third] = ids as [string, string, string];
    await setExpectations(prisma, [
      // acc-00010 and acc-00020 are inactive on Plugchat.
      ...ids.map((accountId) => ({ accountId, field: "active", expected: "true" })),
      ...[first, second, third].map((accountId) => ({ accountId, field: "name", expected: "Our name" })),
      { accountId: first, field: "externalId", expected: "cust-1" }, // agrees
    ]);
    await sync();
    // Two workers' metrics, each reading the database as the worker command wires them.
    const workers = [createMetrics({ mismatchCacheMs: 0 }), createMetrics({ mismatchCacheMs: 0 })];
    for (const metrics of workers) metrics.setMismatchSource(() => mismatchCountsByField(prisma));

    const view = await viewCountsByField(prisma);
    expect(view).toEqual({ active: 2, name: 3 });
    for (const metrics of workers) expect(await scrapeGauge(metrics)).toEqual(withZeros(view));

    // Plugchat turns both accounts active: the next run resolves every `active` mismatch.
    simulator.setAccount(ids[9] as string, { active: true });
    simulator.setAccount(ids[19] as string, { active: true });
    await sync();
    expect(await viewCountsByField(prisma)).toEqual({ name: 3 });
    for (const metrics of workers) {
      expect(await scrapeGauge(metrics)).toEqual(withZeros({ active: 0, name: 3 }));
    }
  });
});

describe("plugchat_sync_mismatches' source", () => {
  it("is read at most once per cache period, scrapes at the same moment sharing one read", async () => {
    let reads = 0;
    const metrics = createMetrics({ mismatchCacheMs: 60_000 });
    metrics.setMismatchSource(async () => {
      reads += 1;
      return [{ field: "active", mismatches: reads }];
    });
    const scrapes = await Promise.all([scrapeGauge(metrics), scrapeGauge(metrics), scrapeGauge(metrics)]);
    expect(await scrapeGauge(metrics)).toMatchObject({ active: 1 });
    expect(scrapes.map((values) => values.active)).toEqual([1, 1, 1]);
    expect(reads).toBe(1);

    const uncached = createMetrics({ mismatchCacheMs: 0 });
    uncached.setMismatchSource(async () => {
      reads += 1;
      return [];
    });
    await scrapeGauge(uncached);
    await scrapeGauge(uncached);
    expect(reads).toBe(3);
  });

  it("shows no values, never stale ones, when the database fails or hangs; none without a source", async () => {
    const logs = captureLogs();
    const failing = createMetrics({ logger: logs.logger, mismatchCacheMs: 0 });
    failing.setMismatchSource(async () => {
      throw new Error("database is down");
    });
    const hanging = createMetrics({ mismatchTimeoutMs: 100, mismatchCacheMs: 0 });
    hanging.setMismatchSource(() => new Promise(() => {}));
    for (const metrics of [failing, hanging, createMetrics()]) expect(await scrapeGauge(metrics)).toEqual({});
    expect(logs.withMessage("mismatch counts unavailable for metrics")).toHaveLength(1);
  });

  it("keeps the field label to the fields that can be expected", async () => {
    const metrics = createMetrics();
    metrics.setMismatchSource(async () => [
      { field: "name", mismatches: 2 },
      { field: "acc-secret-1", mismatches: 1 },
    ]);
    const values = await scrapeGauge(metrics);
    expect(values).toEqual(withZeros({ name: 2, other: 1 }));
  });
});
