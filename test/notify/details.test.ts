import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { untrackAccounts } from "../../src/accounts/repository.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { loadNotificationDetails } from "../../src/notify/details.js";
import type { RunNotification } from "../../src/notify/notification.js";
import { notifyRunFinished } from "../../src/notify/notify-run.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { RunSummary } from "../../src/sync/types.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { setExpectations } from "../helpers/expectations.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";
import { useWebhookReceivers } from "../helpers/webhook-receiver.js";

const TOKEN = "notify-test-token";

let database: TestDatabase;
let prisma: PrismaClient;
let simulator: Simulator;
let logs: CapturedLogs;
const startReceiver = useWebhookReceivers();

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  logs = captureLogs();
});

afterEach(async () => {
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

/** A real run against the simulator; failed attempts are not retried. */
function sync(): Promise<RunSummary> {
  return syncWithSimulator(
    { prisma, simulator, token: TOKEN, logger: logs.logger },
    { trigger: "schedule", concurrency: 4, batchSize: 50 },
  );
}

const unavailable = { type: "status", status: 500 } as const;

describe("loadNotificationDetails", () => {
  it("counts the run's drift by field and lists the accounts that failed in that run only", async () => {
    const [a, b, c, d, e] = (await setUp(5)) as [string, string, string, string, string];
    simulator.setFault(unavailable, { accountId: e });
    const first = await sync(); // baseline; e fails
    expect(first.accountsFailed).toBe(1);
    await untrackAccounts(prisma, [e]); // still failed, but not attempted by the next run
    simulator.clearFaults();
    simulator.setAccount(a, { name: "Renamed A", active: false });
    simulator.setAccount(b, { name: "Renamed B" });
    simulator.setFault(unavailable, { accountId: d });
    simulator.setFault(unavailable, { accountId: c });

    const second = await sync();

    expect(second).toMatchObject({ driftCount: 3, accountsFailed: 2 });
    const details = await loadNotificationDetails(prisma, second.runId);
    expect(details.driftByField).toEqual({ active: 1, name: 2 });
    expect(details.driftedAccounts).toEqual([
      { accountId: a, name: "Renamed A", fields: ["active", "name"] },
      { accountId: b, name: "Renamed B", fields: ["name"] },
    ]);
    expect(details.driftedAccountsTotal).toBe(2);
    expect(details.failingAccounts.map((account) => account.accountId)).toEqual([c, d]);
    expect(details.failingAccounts[0]?.error).toMatch(/500/);
    expect(details.failingAccounts[0]?.name).toEqual(expect.any(String));
    // The first run's own details: no drift (a baseline), e failed.
    expect(await loadNotificationDetails(prisma, first.runId)).toMatchObject({
      driftByField: {},
      failingAccounts: [{ accountId: e }],
    });
  });

  it("lists at most 20 failing accounts, in id order", async () => {
    const ids = await setUp(23);
    simulator.setFault(unavailable);
    const summary = await sync();
    expect(summary.accountsFailed).toBe(23);
    const details = await loadNotificationDetails(prisma, summary.runId);
    expect(details.failingAccounts.map((account) => account.accountId)).toEqual([...ids].sort().slice(0, 20));
  });

  it("lists the accounts that disappeared in the run with their last name, not those never found", async () => {
    const [a, b, c] = (await setUp(3)) as [string, string, string];
    const neverFound = "never-found-account";
    await prisma.account.create({ data: { id: neverFound } });
    await sync(); // baseline: a, b and c seen; neverFound answers 404
    const { name: lastName } = await prisma.account.findUniqueOrThrow({ where: { id: b } });
    simulator.deleteAccount(b);
    simulator.deleteAccount(c);

    const second = await sync();

    const details = await loadNotificationDetails(prisma, second.runId);
    expect(details.missingAccounts).toEqual(
      [b, c].sort().map((accountId) => expect.objectContaining({ accountId })),
    );
    expect(details.missingAccounts.find((account) => account.accountId === b)?.name).toBe(lastName);
    expect(details.missingAccountsTotal).toBe(2);
    // Gone missing is drift of `exists`; the account still there is listed nowhere.
    expect(details.driftedAccounts.map((account) => account.accountId).sort()).toEqual([b, c].sort());
    expect(JSON.stringify(details)).not.toContain(a);
    // Still missing in the next run: no news.
    const third = await sync();
    expect(await loadNotificationDetails(prisma, third.runId)).toMatchObject({
      missingAccounts: [],
      missingAccountsTotal: 0,
    });
  });
});

describe("notifyRunFinished", () => {
  it("POSTs the run's notification, drift and failing accounts included, to the receiver", async () => {
    const [a, , c] = (await setUp(3)) as [string, string, string];
    await sync();
    simulator.setAccount(a, { name: "Renamed" });
    simulator.setFault(unavailable, { accountId: c });
    const summary = await sync();
    const { url, received } = await startReceiver();

    expect(await notifyRunFinished(summary, { url, prisma, logger: logs.logger })).toBe(true);

    expect(received.map(({ body }) => JSON.parse(body) as RunNotification)).toEqual([
      expect.objectContaining({
        version: 1,
        runId: summary.runId,
        status: "partial",
        counts: { total: 3, changed: 1, unchanged: 1, failed: 1, notFound: 0, drift: 1 },
        driftByField: { name: 1 },
        driftedAccounts: [{ accountId: a, name: "Renamed", fields: ["name"] }],
        failingAccounts: [{ accountId: c, name: expect.any(String), error: expect.stringMatching(/500/) }],
        startedAt: summary.startedAt.toISOString(),
        finishedAt: summary.finishedAt?.toISOString(),
      }),
    ]);
  });

  it("sends nothing for a quiet run or without a URL", async () => {
    await setUp(2);
    const quiet = await sync(); // a baseline: no drift, no failure
    const { url, received } = await startReceiver();
    expect(await notifyRunFinished(quiet, { url, prisma, logger: logs.logger })).toBe(false);
    expect(
      await notifyRunFinished(
        { ...quiet, status: "failed" },
        { url: undefined, prisma, logger: logs.logger },
      ),
    ).toBe(false);
    expect(received).toEqual([]);
  });

  it("tells of a run that opened mismatches, though nothing else happened, naming the first 20", async () => {
    const ids = await setUp(23);
    const [first] = ids as [string];
    await setExpectations(prisma, [
      ...ids.map((accountId) => ({ accountId, field: "name", expected: "Our name for it" })),
      { accountId: first, field: "onFinishAttendance", expected: "" }, // Plugchat has a URL
    ]);
    const summary = await sync(); // a baseline: no drift, no failure
    expect(summary).toMatchObject({ driftCount: 0, accountsFailed: 0, mismatches: { opened: 24 } });
    const { url, received } = await startReceiver();

    expect(await notifyRunFinished(summary, { url, prisma, logger: logs.logger })).toBe(true);

    const view = await prisma.$queryRaw<Record<string, unknown>[]>`
      SELECT account_id AS "accountId", name, field, expected, actual
        FROM account_mismatches ORDER BY account_id, field LIMIT 20`;
    const [notification] = received.map(({ body }) => JSON.parse(body) as RunNotification);
    expect(notification?.mismatches).toEqual({ open: 24, opened: 24, resolved: 0 });
    expect(notification?.openedMismatches).toEqual(view);
    expect(notification?.openedMismatches[0]).toMatchObject({
      accountId: first,
      field: "name",
      expected: "Our name for it",
      actual: expect.any(String),
    });
    expect(notification?.openedMismatches[1]).toMatchObject({ field: "onFinishAttendance", expected: "" });
    expect(notification?.openedMismatchesNotListed).toBe(4);
    expect(notification?.text).toMatch(/; mismatches with your records: 24 open \(24 new, 0 resolved\)$/);

    // The next run finds them still there, and nothing new: nothing to tell.
    const next = await sync();
    expect(next.mismatches).toEqual({ open: 24, opened: 0, resolved: 0 });
    expect(await notifyRunFinished(next, { url, prisma, logger: logs.logger })).toBe(false);
    expect(received).toHaveLength(1);
  });
});
