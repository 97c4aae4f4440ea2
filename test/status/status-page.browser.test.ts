// The status page in a real browser (Debian's chromium, driven by playwright-core) during a real run:
// the figures shown are the database's, hostile names stay text, remote clients need the password.
import { existsSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type HealthServer, startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SHOWN_CHARACTERS } from "../../src/status/html.js";
import { statusRoutes } from "../../src/status/index.js";
import { formatTime } from "../../src/status/render.js";
import { runSync } from "../../src/sync/run-in-process.js";
import type { RunSummary } from "../../src/sync/types.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { setExpectations, viewCountsByField } from "../helpers/expectations.js";
import { captureLogs } from "../helpers/logs.js";

const TOKEN = "status-page-token";
const ACCOUNTS = 600;
const BATCH_SIZE = 100;
/** Batches written before the run is held, so that the page sees it in the middle. */
const BATCHES_BEFORE_HOLD = 3;
/** The batches the run plans: 5 of 100, then 50, 32 and 18 (src/sync/batch-sizes.ts). */
const BATCHES_PLANNED = 8;
const PASSWORD = "status page password";
const HOSTILE_NAME = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">\u202Eevil\u202C Ltda`;
const LONG_URL = `https://hooks.example/receive/${"x".repeat(1_960)}?a="><script>window.__pwned=3</script>`;
const QUEUE = { waiting: 4, active: 2, delayed: 0, failed: 1 };
/** What the queues tell the page's health: two workers, a daily schedule (nothing is late in a test). */
const QUEUE_HEALTH = {
  workers: ["worker-host:101", "worker-host:102"],
  schedule: { cron: "0 3 * * *", timezone: "UTC", nextRunAt: nextThreeAm().toISOString() },
};
// The README's picture is rewritten only on request (UPDATE_SCREENSHOT=1): a test run leaves the
// checkout as it was. Otherwise the page is still drawn, into a scratch file.
const UPDATE_SCREENSHOT = process.env.UPDATE_SCREENSHOT === "1";
const SCREENSHOT = UPDATE_SCREENSHOT
  ? "docs/status-page.png"
  : join(tmpdir(), `plugchat-sync-status-page-${process.pid}.png`);

/** A non-loopback IPv4 address of this machine: connections to it come from a non-loopback peer. */
const REMOTE_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && address.family === "IPv4" && !address.internal)?.address;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let open: HealthServer;
let guarded: HealthServer;
let browser: Browser;
let release: () => void;
let running: Promise<RunSummary>;

async function chromiumBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

function serve(password?: Secret): Promise<HealthServer> {
  return startHealthServer({
    port: 0,
    host: "0.0.0.0",
    metrics: createMetrics(),
    checks: { postgres: async () => {}, redis: async () => {} },
    logger: captureLogs("warn").logger,
    routes: statusRoutes({
      prisma,
      jobCounts: async () => QUEUE,
      queueHealth: async () => QUEUE_HEALTH,
      ...(password ? { password } : {}),
    }),
  });
}

/** A client whose requests for the accounts after the first batches wait until `release()`. */
function holdingClient(client: PlugchatClient, held: Set<string>): PlugchatClient {
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    async getAccount(id, options) {
      if (held.has(id)) await gate;
      return client.getAccount(id, options);
    },
  };
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${await stateOfRuns()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The runs and their batches, for a wait that timed out to say where the run stood. */
async function stateOfRuns(): Promise<string> {
  const runs = await prisma.syncRun.findMany({ orderBy: { id: "asc" } });
  const batches = await prisma.syncRunBatch.groupBy({ by: ["runId"], _count: true });
  return JSON.stringify({
    runs: runs.map(({ id, status, error, accountsTotal }) => ({ id, status, error, accountsTotal })),
    batches,
  });
}

function nextThreeAm(): Date {
  const next = new Date();
  next.setUTCHours(3, 0, 0, 0);
  if (next.getTime() <= Date.now()) next.setUTCDate(next.getUTCDate() + 1);
  return next;
}

async function fieldText(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? "").trim();
}

// Debian's chromium (`.ci/run` installs it). Without it the page's browser tests are reported as not
// run; under CI=true they run anyway and fail, saying what is missing.
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const runBrowserTests = hasChromium || process.env.CI === "true";

beforeAll(async () => {
  if (!hasChromium) {
    if (process.env.CI === "true")
      throw new Error(`${CHROMIUM} is missing: CI runs every test (apt-get install chromium)`);
    return;
  }
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  const ids = simulator.listIds();
  await prisma.account.createMany({ data: ids.map((id) => ({ id })) });
  const logger = captureLogs("warn").logger;
  const client = createPlugchatClient({
    baseUrl: simulator.url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 1,
    maxRps: 0,
    logger,
  });
  const options = { trigger: "cli" as const, concurrency: 16, batchSize: BATCH_SIZE };
  // Your records expect the first 100 accounts active (every 10th is not), and a hostile name for the
  // first: the first run opens those mismatches.
  await setExpectations(prisma, [
    ...ids.slice(0, 100).map((accountId) => ({ accountId, field: "active", expected: "true" })),
    { accountId: ids[0] as string, field: "name", expected: HOSTILE_NAME },
  ]);
  await runSync({ prisma, client, logger }, options);

  // Drift over the past days, for the chart: as earlier runs would have recorded it.
  await prisma.$executeRaw`
    INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value, detected_at)
    SELECT id, 1, (ARRAY['name', 'active', 'onReceiveMessage', 'exists'])[1 + n % 4], 'a', 'b',
           now() - make_interval(days => (1 + (n * n) % 29 % (1 + n % 23))::int)
      FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts) AS a
     WHERE n % 3 = 0
    ON CONFLICT DO NOTHING`;

  // The second run meets hostile names, a 2,000-character webhook, failures and a disappearance,
  // all in its first batches (the ones written before the hold).
  const [hostile, longUrl, failing, gone] = ids as [string, string, string, string];
  simulator.setAccount(hostile, { name: HOSTILE_NAME });
  simulator.setAccount(longUrl, { onReceiveMessage: LONG_URL });
  simulator.setFault({ type: "status", status: 500 }, { accountId: failing });
  simulator.deleteAccount(gone);
  const held = new Set(ids.slice(BATCHES_BEFORE_HOLD * BATCH_SIZE));
  running = runSync({ prisma, client: holdingClient(client, held), logger }, options);
  // A run that ends early (it should hold) is reported with its error, not as a wait timed out.
  let endedEarly: unknown;
  running.then(
    () => (endedEarly ??= new Error("the held run ended before it was released")),
    (error: unknown) => (endedEarly ??= error),
  );
  await waitFor(async () => {
    if (endedEarly) throw endedEarly;
    return (await prisma.syncRunBatch.count({ where: { runId: 2 } })) === BATCHES_BEFORE_HOLD;
  }, "the first batches of the run");

  open = await serve();
  guarded = await serve(new Secret(PASSWORD));
  browser = await chromiumBrowser();
}, 120_000);

afterAll(async () => {
  if (!UPDATE_SCREENSHOT) rmSync(SCREENSHOT, { force: true });
  release?.();
  await running?.catch(() => undefined);
  await browser?.close();
  await open?.close();
  await guarded?.close();
  await prisma?.$disconnect();
  await database?.drop();
  await simulator?.close();
});

describe.skipIf(!runBrowserTests)("the status page in a browser", () => {
  it("shows the run going on with the database's figures, the other panels, and no script of a name", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const response = await page.goto(`http://127.0.0.1:${open.port}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self'/);

    const run = await prisma.syncRun.findFirstOrThrow({ where: { status: "running" } });
    expect(await page.locator("#run").getAttribute("data-run-id")).toBe(String(run.id));
    expect(run.accountsTotal).toBe(BATCHES_BEFORE_HOLD * BATCH_SIZE);
    expect(await fieldText(page, '[data-field="accountsDone"]')).toBe(String(run.accountsTotal));
    expect(await fieldText(page, '[data-field="accountsPlanned"]')).toBe(String(ACCOUNTS));
    expect(await fieldText(page, '[data-field="batches"]')).toBe(
      `${BATCHES_BEFORE_HOLD} of ${BATCHES_PLANNED}`,
    );
    expect(await fieldText(page, '[data-field="changed"]')).toBe(String(run.accountsChanged));
    expect(await fieldText(page, '[data-field="failed"]')).toBe(String(run.accountsFailed));
    expect(await fieldText(page, '[data-field="notFound"]')).toBe(String(run.accountsNotFound));
    expect(run.accountsFailed).toBe(1);
    expect(run.accountsNotFound).toBe(1);
    expect(await fieldText(page, '[data-field="eta"]')).toMatch(/\d+ (s|min)/);
    expect(Number(await page.locator("#run-progress").getAttribute("value"))).toBeCloseTo(50, 0);

    const tracked = await prisma.account.count({ where: { tracked: true } });
    const failing = await prisma.account.count({ where: { lastStatus: "failed" } });
    // The account deleted on Plugchat had been found by the first run: missing, not never found.
    const missing = await prisma.account.count({ where: { lastStatus: "not_found" } });
    expect(await fieldText(page, "#never-found-count")).toBe("0");
    // Health at a glance, first: the last run succeeded, one account of 600 fails, workers are there.
    expect(await page.locator("main > section").first().getAttribute("id")).toBe("health");
    expect(await page.locator("#health").getAttribute("data-state")).toBe("ok");
    expect(await fieldText(page, "#health-reasons")).toBe("All is well.");
    expect(await fieldText(page, "#last-success")).toMatch(/^#1, \d+ (s|min \d\d s) ago \(/);
    expect(await fieldText(page, "#next-run")).toContain(
      formatTime(new Date(QUEUE_HEALTH.schedule.nextRunAt)),
    );
    expect(await fieldText(page, "#schedule")).toBe("0 3 * * * UTC, every 24 h 00 min");
    expect(await fieldText(page, "#live-workers")).toBe("2");

    expect(await fieldText(page, "#tracked")).toBe(String(tracked));
    expect(await fieldText(page, "#failing-count")).toBe(String(failing));
    expect(await fieldText(page, "#missing-count")).toBe(String(missing));
    expect(await page.locator("#failing tbody tr").count()).toBe(failing);
    const failingRow = await prisma.account.findFirstOrThrow({ where: { lastStatus: "failed" } });
    expect(failingRow.failingSince).not.toBeNull();
    expect(await page.locator("#failing tbody tr td").nth(4).textContent()).toBe(
      formatTime(failingRow.failingSince as Date),
    );
    expect(await page.locator("#missing tbody tr").count()).toBe(missing);
    expect(await fieldText(page, '[data-queue="waiting"]')).toBe(String(QUEUE.waiting));
    expect(await fieldText(page, '[data-queue="active"]')).toBe(String(QUEUE.active));
    expect(await fieldText(page, '[data-queue="failed"]')).toBe(String(QUEUE.failed));
    const first = await prisma.syncRun.findUniqueOrThrow({ where: { id: 1 } });
    const firstRow = page.locator('#runs tr[data-run-id="1"] td');
    expect(await firstRow.nth(2).textContent()).toBe(first.status);
    expect(await firstRow.nth(5).textContent()).toBe(String(first.accountsTotal));
    const chartBars = await page.locator('#drift svg[role="img"] rect').count();
    const driftRows = await prisma.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM drift_by_day WHERE day > (now() AT TIME ZONE 'UTC')::date - 30`;
    expect(chartBars).toBe(driftRows[0]?.n);

    // Out of sync with your records: the view's counts and rows, the hostile value as text.
    const mismatches = await viewCountsByField(prisma);
    const mismatchTotal = Object.values(mismatches).reduce((sum, n) => sum + n, 0);
    expect(mismatches).toEqual({ active: 10, name: 1 });
    expect(await fieldText(page, "#mismatches-total")).toBe(String(mismatchTotal));
    expect(await fieldText(page, '[data-mismatch-field="active"]')).toBe(String(mismatches.active));
    expect(await page.locator("#mismatches tbody tr").count()).toBe(mismatchTotal);
    expect(await page.locator("#mismatches tbody tr td code").first().textContent()).toBe(
      JSON.stringify(HOSTILE_NAME).replace("\u202E", "\\u202e").replace("\u202C", "\\u202c"),
    );

    // The hostile name and URL are shown, as text; nothing of theirs ran or became an element.
    await expect.poll(() => page.locator("#recent-drift").textContent()).toContain(HOSTILE_NAME);
    // The 2,000-character URL: cut in the table, whole in the cell's title (and in /api/drift).
    const cell = page.locator("#recent-drift bdi[title]").first();
    expect(await cell.getAttribute("title")).toBe(LONG_URL);
    expect(await cell.textContent()).toBe(`${LONG_URL.slice(0, SHOWN_CHARACTERS)}…`);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator("script").count()).toBe(1);
    expect(await page.locator("main img").count()).toBe(0);

    // The page's script refreshes the figures from /api/run and the health from /api/health in place.
    for (const selector of ['[data-field="accountsDone"]', "#live-workers"]) {
      await page.locator(selector).evaluate((element) => {
        element.textContent = "stale";
      });
    }
    await expect
      .poll(() => fieldText(page, '[data-field="accountsDone"]'), { timeout: 10_000 })
      .toBe(String(run.accountsTotal));
    await expect.poll(() => fieldText(page, "#live-workers"), { timeout: 10_000 }).toBe("2");
    expect(await fieldText(page, "#health-reasons")).toBe("All is well.");
    expect(errors).toEqual([]);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  });

  it("serves the tables without JavaScript", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${open.port}/`);
    expect(await page.locator("#runs tbody tr").count()).toBe(2);
    expect(await fieldText(page, '[data-field="accountsPlanned"]')).toBe(String(ACCOUNTS));
    await context.close();
  });

  it.skipIf(REMOTE_ADDRESS === undefined)(
    "refuses a client from another machine without STATUS_PASSWORD, and leaves /healthz open to it",
    async () => {
      const page = await browser.newPage();
      const refused = await page.goto(`http://${REMOTE_ADDRESS}:${open.port}/`);
      expect(refused?.status()).toBe(403);
      expect(await page.textContent("body")).toMatch(/set STATUS_PASSWORD/);
      const api = await page.goto(`http://${REMOTE_ADDRESS}:${open.port}/api/accounts`);
      expect(api?.status()).toBe(403);
      const health = await page.goto(`http://${REMOTE_ADDRESS}:${open.port}/healthz`);
      expect(health?.status()).toBe(200);
      await page.close();
    },
  );

  it("with STATUS_PASSWORD, asks every client for it and serves whoever gives it", async () => {
    const host = REMOTE_ADDRESS ?? "127.0.0.1";
    // Without credentials the browser gets the challenge and, having nothing to answer, gives up.
    const anonymous = await browser.newPage();
    await expect(anonymous.goto(`http://${host}:${guarded.port}/`)).rejects.toThrow(
      /ERR_INVALID_AUTH_CREDENTIALS/,
    );
    await anonymous.close();
    for (const url of [`http://${host}:${guarded.port}/`, `http://127.0.0.1:${guarded.port}/api/run`]) {
      const asked = await fetch(url);
      expect(asked.status).toBe(401);
      expect(asked.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    }

    // A wrong password is refused (the browser gives up on it: asked from here instead).
    const wrong = `Basic ${Buffer.from("ops:wrong password").toString("base64")}`;
    const refused = await fetch(`http://${host}:${guarded.port}/`, { headers: { authorization: wrong } });
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(ACCOUNTS.toString());

    const context = await browser.newContext({ httpCredentials: { username: "ops", password: PASSWORD } });
    const page = await context.newPage();
    const response = await page.goto(`http://${host}:${guarded.port}/`);
    expect(response?.status()).toBe(200);
    expect(await fieldText(page, "#tracked")).toBe(String(ACCOUNTS));
    // The page's own script gets its JSON with the same credentials.
    await page.locator('[data-field="accountsDone"]').evaluate((element) => {
      element.textContent = "stale";
    });
    await expect
      .poll(() => fieldText(page, '[data-field="accountsDone"]'), { timeout: 10_000 })
      .not.toBe("stale");
    await context.close();
  });

  it("answers GET and HEAD only, and serves every panel as JSON", async () => {
    const base = `http://127.0.0.1:${open.port}`;
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${base}/api/run`, { method: "HEAD" })).status).toBe(200);
    const run = (await (await fetch(`${base}/api/run`)).json()) as { run: { accountsPlanned: number } };
    expect(run.run.accountsPlanned).toBe(ACCOUNTS);
    const runs = (await (await fetch(`${base}/api/runs`)).json()) as { runs: unknown[] };
    expect(runs.runs).toHaveLength(2);
    const accounts = (await (await fetch(`${base}/api/accounts`)).json()) as { tracked: number };
    expect(accounts.tracked).toBe(ACCOUNTS);
    expect(await (await fetch(`${base}/api/queue`)).json()).toEqual({ queue: QUEUE });
    const health = (await (await fetch(`${base}/api/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({
      state: "ok",
      reasons: [],
      lastSuccess: { runId: 1 },
      schedule: { ...QUEUE_HEALTH.schedule, intervalSeconds: 86_400 },
      workers: QUEUE_HEALTH.workers,
    });
    const drift = (await (await fetch(`${base}/api/drift`)).json()) as { days: unknown[]; recent: unknown[] };
    expect(drift.days.length).toBeGreaterThan(0);
    expect(drift.recent.length).toBeGreaterThan(0);
    const mismatches = (await (await fetch(`${base}/api/mismatches`)).json()) as { total: number };
    expect(mismatches.total).toBe(11);
    const text = JSON.stringify([run, runs, accounts, drift, mismatches, health]);
    expect(text).not.toContain(TOKEN);
  });

  it("shows no run going on once the run is finished, and the finished run in the table", async () => {
    release();
    const summary = await running;
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${open.port}/`);
    expect(await page.textContent("#run")).toContain("No run is going on.");
    const row = page.locator(`#runs tr[data-run-id="${summary.runId}"] td`);
    expect(await row.nth(2).textContent()).toBe(summary.status);
    expect(await row.nth(5).textContent()).toBe(String(ACCOUNTS));
    await page.close();
  });
});
