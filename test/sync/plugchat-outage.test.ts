// A Plugchat outage under `sync` (runSync in one process): the run stops trying accounts once every
// request fails, probes, and either closes failed "Plugchat unreachable" with the accounts not tried
// left as they were, or resumes when Plugchat answers again; said once in the log either way.

import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import type { RunProgress } from "../../src/progress/figures.js";
import type { OutageSettings } from "../../src/sync/outage-detector.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { freePort } from "../helpers/free-port.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";
import { quickRetryClient } from "../helpers/simulator-sync.js";

const TOKEN = "outage-sync-token";
const ACCOUNTS = 2_000;
/** Short timings, so that the test waits little: 8 failures in a row open an outage, 1.5 s gives up. */
const OUTAGE: OutageSettings = { after: 8, probeEveryMs: 200, giveUpMs: 1_500 };

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });
let logs: CapturedLogs;

function clientOf(baseUrl: string): PlugchatClient {
  return quickRetryClient(baseUrl, TOKEN, logs.logger);
}

function sync(client: PlugchatClient, onProgress?: (progress: RunProgress) => void) {
  return runSync(
    { prisma: setup.prisma, client, logger: logs.logger, outage: OUTAGE },
    { trigger: "cli", concurrency: 8, batchSize: 500, ...(onProgress ? { onProgress } : {}) },
  );
}

/** Every account's stored values and status columns, to compare before and after a run. */
function accountRows() {
  return setup.prisma.account.findMany({ orderBy: { id: "asc" } });
}

const failingLines = () => logs.lines().filter((line) => String(line.msg).startsWith("Plugchat is failing"));
const recoveredLines = () => logs.lines().filter((line) => String(line.msg).startsWith("Plugchat recovered"));
const warnLines = () =>
  logs.lines().filter((line) => ["warn", "error", "fatal"].includes(String(line.level)));

beforeAll(async () => {
  logs = captureLogs();
  // A first run stores every account, so that an outage has values and statuses to leave alone.
  const baseline = await sync(clientOf(setup.simulator.url));
  expect(baseline).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
});

beforeEach(() => {
  logs = captureLogs();
  setup.simulator.clearFaults();
});

describe("a Plugchat outage during sync", () => {
  it("with Plugchat down (connection refused), closes failed 'Plugchat unreachable', the accounts not tried left as they were, said in one warn line", async () => {
    const before = await accountRows();
    // Nothing listens there: every request is refused, as with the simulator stopped.
    const stopped = clientOf(`http://127.0.0.1:${await freePort()}`);

    const run = await sync(stopped);

    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/^Plugchat unreachable: \d+ requests failed in a row \(last: ECONNREFUSED\)/);
    // The requests out when the outage opened were called back, not failed: no account was failed
    // for Plugchat being down, and none was written.
    expect(run).toMatchObject({ accountsTotal: 0, accountsFailed: 0, driftCount: 0 });
    expect(await accountRows()).toEqual(before);
    expect(await setup.prisma.accountDrift.count({ where: { syncRunId: run.runId } })).toBe(0);
    expect(failingLines()).toHaveLength(1);
    expect(failingLines()[0]).toMatchObject({
      level: "warn",
      failuresInARow: 8,
      lastFailure: "ECONNREFUSED",
    });
    expect(recoveredLines()).toHaveLength(0);
    // Retries are at debug; the warn lines are the outage's and the run's summary.
    expect(logs.withMessage("plugchat request retry").every((line) => line.level === "debug")).toBe(true);
    expect(warnLines().length).toBeLessThanOrEqual(3);
  });

  it("with every request timing out, closes failed 'Plugchat unreachable' the same way", async () => {
    const before = await accountRows();
    setup.simulator.setFault({ type: "hang" });
    const hanging = createPlugchatClient({
      baseUrl: setup.simulator.url,
      token: TOKEN,
      timeoutMs: 200,
      maxAttempts: 5,
      maxRps: 0,
      minRetryDelayMs: 20,
      maxRetryDelayMs: 100,
      logger: logs.logger,
    });

    const run = await sync(hanging);

    expect(run).toMatchObject({ status: "failed", accountsTotal: 0, accountsFailed: 0 });
    expect(run.error).toMatch(/^Plugchat unreachable: .*\(last: TIMEOUT\)/);
    expect(await accountRows()).toEqual(before);
    expect(failingLines()).toHaveLength(1);
  });

  it("with every request answered 503 and Plugchat back mid-run, resumes and completes, each change stored once, one 'recovered' line", async () => {
    const changed = setup.simulator.listIds().filter((_, index) => index % 100 === 7);
    for (const id of changed) setup.simulator.setAccount(id, { name: `renamed ${id}` });
    setup.simulator.setFault({ type: "status", status: 503 });

    const running = sync(clientOf(setup.simulator.url));
    await waitForLine(failingLines);
    // Some probes meet the outage before it ends.
    await sleep(500);
    setup.simulator.clearFaults();
    const run = await running;

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS, accountsFailed: 0 });
    expect(run.driftCount).toBe(changed.length);
    const stored = await setup.prisma.account.findMany({ where: { id: { in: changed } } });
    expect(stored.map((account) => account.name).sort()).toEqual(changed.map((id) => `renamed ${id}`).sort());
    expect(failingLines()).toHaveLength(1);
    expect(failingLines()[0]).toMatchObject({ lastFailure: "HTTP 503" });
    expect(recoveredLines()).toHaveLength(1);
    expect(recoveredLines()[0]).toMatchObject({ level: "warn" });
    expect(Number(recoveredLines()[0]?.probes)).toBeGreaterThanOrEqual(1);
  });

  it("404 and 429 answers are no outage: the run goes on through them", async () => {
    const ids = setup.simulator.listIds();
    for (const id of ids.slice(0, 20))
      setup.simulator.setFault({ type: "status", status: 404 }, { accountId: id });
    setup.simulator.setFault({ type: "status", status: 429, retryAfter: 0 }, { times: 20 });

    const run = await sync(clientOf(setup.simulator.url));

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS, accountsNotFound: 20 });
    expect(failingLines()).toHaveLength(0);
    // Found again on the next run: the baseline for the tests after this one.
    setup.simulator.clearFaults();
    expect((await sync(clientOf(setup.simulator.url))).status).toBe("succeeded");
  });

  it("moves the progress per account fetched, before the first batch is written", async () => {
    const seen: RunProgress[] = [];
    const run = await sync(clientOf(setup.simulator.url), (progress) => seen.push(progress));

    expect(run.status).toBe("succeeded");
    const beforeFirstBatch = seen.filter(
      (progress) => progress.batchesDone === 0 && progress.accountsDone > 0,
    );
    // One call per account of the first batch at least (the second batch's overlap adds some).
    expect(beforeFirstBatch.length).toBeGreaterThanOrEqual(499);
    const done = seen.map((progress) => progress.accountsDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.at(-1)).toBe(ACCOUNTS);
  });
});

async function waitForLine(lines: () => unknown[]): Promise<void> {
  for (let waited = 0; lines().length === 0; waited += 20) {
    if (waited > 20_000) throw new Error("timed out waiting for the outage's log line");
    await sleep(20);
  }
}
