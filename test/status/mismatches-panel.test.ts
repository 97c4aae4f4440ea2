// The "out of sync with your records" panel and /api/mismatches over real HTTP, after real runs against
// the simulator: their figures are the account_mismatches view's, hostile values stay text, and the
// endpoint keeps the page's access rules.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type HealthServer, startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { text } from "../../src/status/html.js";
import { statusRoutes } from "../../src/status/index.js";
import type { MismatchesPanel } from "../../src/status/queries.js";
import type { RunSummary } from "../../src/sync/types.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { type Expectation, setExpectations, viewCountsByField } from "../helpers/expectations.js";
import { captureLogs } from "../helpers/logs.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "mismatch-panel-token";
const PASSWORD = "mismatch panel password";
const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="alert(2)">\u202Eevil\u202C Ltda`;
/** The page lists this many; more are counted. */
const LISTED = 50;

let database: TestDatabase;
let prisma: PrismaClient;
let simulator: Simulator;
const servers: HealthServer[] = [];

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await simulator?.close();
  await prisma.$disconnect();
  await database.drop();
});

async function setUp(accounts: number): Promise<string[]> {
  simulator = await startSimulator({ token: TOKEN, accounts });
  const ids = simulator.listIds();
  await prisma.account.createMany({ data: ids.map((id) => ({ id })) });
  return ids;
}

function sync(): Promise<RunSummary> {
  return syncWithSimulator({ prisma, simulator, token: TOKEN }, { concurrency: 8, batchSize: 25 });
}

async function serve(password?: Secret): Promise<string> {
  const server = await startHealthServer({
    port: 0,
    host: "127.0.0.1",
    metrics: createMetrics(),
    checks: {},
    logger: captureLogs().logger,
    routes: statusRoutes({ prisma, ...(password ? { password } : {}) }),
  });
  servers.push(server);
  return `http://127.0.0.1:${server.port}`;
}

async function api(base: string): Promise<MismatchesPanel> {
  const response = await fetch(`${base}/api/mismatches`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
  return (await response.json()) as MismatchesPanel;
}

/** The panel's section of the page. */
async function panel(base: string): Promise<string> {
  const html = await (await fetch(`${base}/`)).text();
  const start = html.indexOf('<section id="mismatches"');
  expect(start).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf("</section>", start));
}

describe("the mismatches panel and /api/mismatches", () => {
  it("show the view's counts by field and its first rows, the rest counted, hostile values as text", async () => {
    const ids = await setUp(60);
    const [hostile, webhook, empty] = ids as [string, string, string];
    const failing = ids[59] as string;
    const gone = ids[58] as string;
    simulator.setAccount(hostile, { name: HOSTILE });
    simulator.setFault({ type: "status", status: 500 }, { accountId: failing });
    simulator.deleteAccount(gone);
    const expectations: Expectation[] = ids.flatMap((accountId) => [
      { accountId, field: "exists", expected: "true" },
      { accountId, field: "active", expected: "true" }, // every 10th account is inactive
      { accountId, field: "name", expected: "Expected Ltda" },
    ]);
    expectations.push(
      { accountId: webhook, field: "onReceiveMessage", expected: HOSTILE },
      { accountId: empty, field: "onSendingMessage", expected: "" }, // Plugchat has null
    );
    await setExpectations(prisma, expectations);
    await sync();
    const base = await serve();

    const counts = await viewCountsByField(prisma);
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    // 58 verified names, 5 inactive verified, the deleted one, the webhook and the empty string.
    expect(counts).toEqual({ name: 58, active: 5, exists: 1, onReceiveMessage: 1, onSendingMessage: 1 });
    const view = await prisma.$queryRaw<Record<string, unknown>[]>`
      SELECT account_id AS "accountId", name, field, expected, actual, since, run_id AS "runId"
        FROM account_mismatches ORDER BY account_id, field LIMIT ${LISTED}`;

    const body = await api(base);
    expect(body).toEqual({
      accountsWithExpectations: 60,
      total,
      byField: Object.entries(counts)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([field, mismatches]) => ({ field, mismatches })),
      unverified: 1,
      mismatches: view.map((row) => ({ ...row, since: (row.since as Date).toISOString() })),
    });
    expect(
      body.mismatches.find((row) => row.accountId === webhook && row.field === "onReceiveMessage")?.expected,
    ).toBe(HOSTILE);
    expect(
      body.mismatches.find((row) => row.accountId === empty && row.field === "onSendingMessage"),
    ).toMatchObject({ expected: "", actual: null });

    const section = await panel(base);
    expect(section).toContain(`(<span id="mismatches-total">${total}</span>)`);
    for (const [field, n] of Object.entries(counts)) {
      expect(section).toContain(`<dd data-mismatch-field="${field}">${n}</dd>`);
    }
    expect(section).toContain('<dd id="mismatches-unverified">1</dd>');
    expect(section.match(/<tr>/g)).toHaveLength(LISTED + 1); // the head's row, then the listed ones
    expect(section).toContain(`and ${total - LISTED} more (plugchat-sync mismatches lists them all)`);
    // The hostile name (actual) and value (expected) are there, as text only.
    expect(section).toContain(`<bdi>${text(HOSTILE)}</bdi>`);
    expect(section).toContain(
      text(JSON.stringify(HOSTILE).replace("\u202E", "\\u202e").replace("\u202C", "\\u202c")),
    );
    expect(section).not.toContain("<script");
    expect(section).not.toContain("<img");
  });

  it("tell no expected values at all apart from none open", async () => {
    const ids = await setUp(4);
    await sync();
    const base = await serve();
    expect(await api(base)).toEqual({
      accountsWithExpectations: 0,
      total: 0,
      byField: [],
      unverified: 0,
      mismatches: [],
    });
    expect(await panel(base)).toContain('data-empty="no-expectations"');

    // Expectations that every account meets: compared, and none open.
    await setExpectations(
      prisma,
      ids.map((accountId) => ({ accountId, field: "exists", expected: "true" })),
    );
    await sync();
    expect(await api(base)).toMatchObject({ accountsWithExpectations: 4, total: 0, mismatches: [] });
    const section = await panel(base);
    expect(section).toContain('data-empty="none-open"');
    expect(section).not.toContain('data-empty="no-expectations"');
  });

  it("keeps the page's access rules: with STATUS_PASSWORD, /api/mismatches needs it", async () => {
    const [id] = (await setUp(1)) as [string];
    await setExpectations(prisma, [{ accountId: id, field: "name", expected: "Other" }]);
    await sync();
    const base = await serve(new Secret(PASSWORD));
    const refused = await fetch(`${base}/api/mismatches`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(id);
    const authorization = `Basic ${Buffer.from(`ops:${PASSWORD}`).toString("base64")}`;
    const allowed = await fetch(`${base}/api/mismatches`, { headers: { authorization } });
    expect(allowed.status).toBe(200);
    expect(((await allowed.json()) as MismatchesPanel).mismatches).toMatchObject([{ accountId: id }]);
  });
});
