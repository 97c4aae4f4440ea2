import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { RunInProgressError } from "../../src/sync/errors.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { openRun } from "../../src/sync/run-lifecycle.js";
import { createMigratedTestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";

const TOKEN = "sync-test-token";
const ACCOUNTS = 6;

let simulator: Simulator;
let database: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let logs: CapturedLogs;
let client: PlugchatClient;

function clientFor(token: string): PlugchatClient {
  return createPlugchatClient({
    baseUrl: simulator.url,
    token,
    timeoutMs: 2_000,
    maxAttempts: 2,
    maxRps: 0,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    logger: logs.logger,
  });
}

function sync(options: { client?: PlugchatClient; batchSize?: number; staleRunAfterMs?: number } = {}) {
  return runSync(
    { prisma, client: options.client ?? client, logger: logs.logger },
    {
      trigger: "cli",
      concurrency: 4,
      batchSize: options.batchSize ?? 4,
      staleRunAfterMs: options.staleRunAfterMs,
    },
  );
}

async function driftRows() {
  return prisma.accountDrift.findMany({ orderBy: [{ accountId: "asc" }, { field: "asc" }] });
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
  logs = captureLogs();
  client = clientFor(TOKEN);
  simulator.clearFaults();
  simulator.resetStats();
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
});

afterEach(async () => {
  await prisma.$disconnect();
  await database.drop();
});

describe("a sync run", () => {
  it("sets a baseline on the first fetch: data stored, status ok, no drift rows, one debug baseline line each", async () => {
    const summary = await sync();

    expect(summary).toMatchObject({
      status: "succeeded",
      accountsTotal: ACCOUNTS,
      accountsChanged: ACCOUNTS,
      driftCount: 0,
    });
    const first = simulator.listIds()[0] as string;
    const row = await prisma.account.findUniqueOrThrow({ where: { id: first } });
    const remote = simulator.getAccount(first);
    expect(row).toMatchObject({ ...remote, lastStatus: "ok", consecutiveFailures: 0 });
    expect(row.lastSyncedAt).not.toBeNull();
    expect(row.updatedAt).not.toBeNull();
    expect(await driftRows()).toEqual([]);
    expect(logs.withMessage("account baseline").map((line) => line.level)).toEqual(
      Array(ACCOUNTS).fill("debug"),
    );
    expect(logs.withMessage("sync run finished")).toHaveLength(1);
  });

  it("records one drift row and one log line per changed field, with old and new values as text", async () => {
    await sync();
    const [a, b] = simulator.listIds() as [string, string];
    const before = simulator.getAccount(a);
    simulator.setAccount(a, {
      externalId: "ext-new",
      name: "Renamed Ltda",
      active: !before?.active,
      onStartAttendance: "https://hooks.example/start-2",
      onFinishAttendance: "https://hooks.example/finish-2",
      onReceiveMessage: "https://hooks.example/receive-2",
      onSendingMessage: "https://hooks.example/sending-2",
      onMessageStatus: "https://hooks.example/status-2",
    });
    simulator.setAccount(b, { name: "Only the name" });

    const summary = await sync();

    expect(summary).toMatchObject({
      status: "succeeded",
      accountsChanged: 2,
      accountsUnchanged: ACCOUNTS - 2,
      driftCount: 9,
    });
    const drift = await driftRows();
    expect(
      drift
        .filter((row) => row.accountId === a)
        .map((row) => row.field)
        .sort(),
    ).toEqual([
      "active",
      "externalId",
      "name",
      "onFinishAttendance",
      "onMessageStatus",
      "onReceiveMessage",
      "onSendingMessage",
      "onStartAttendance",
    ]);
    expect(drift.find((row) => row.accountId === a && row.field === "active")).toMatchObject({
      oldValue: String(before?.active),
      newValue: String(!before?.active),
      syncRunId: summary.runId,
    });
    expect(drift.find((row) => row.accountId === b)).toMatchObject({
      field: "name",
      oldValue: before === undefined ? undefined : expect.any(String),
      newValue: "Only the name",
    });
    const lines = logs.withMessage("account drift");
    expect(lines).toHaveLength(9);
    expect(lines).toContainEqual(
      expect.objectContaining({ accountId: b, field: "name", to: "Only the name", runId: summary.runId }),
    );
    expect(await prisma.account.findUniqueOrThrow({ where: { id: a } })).toMatchObject(
      simulator.getAccount(a) ?? {},
    );
  });

  it("keeps null and the empty string apart in drift rows, both ways", async () => {
    const id = simulator.listIds()[0] as string;
    simulator.setAccount(id, { onReceiveMessage: null });
    await sync();
    simulator.setAccount(id, { onReceiveMessage: "" });
    await sync();
    simulator.setAccount(id, { onReceiveMessage: null });
    await sync();

    const drift = await driftRows();
    expect(drift.map((row) => [row.oldValue, row.newValue])).toEqual([
      [null, ""],
      ["", null],
    ]);
  });

  it("writes no data column of an unchanged account on a rerun; its last sync moves in account_current_state", async () => {
    await sync();
    // A trigger that fires only when a data column appears in an UPDATE's SET list.
    await prisma.$executeRawUnsafe(`
      CREATE TABLE data_writes (account_id text);
      CREATE FUNCTION note_data_write() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO data_writes VALUES (NEW.id); RETURN NEW; END $$;
      CREATE TRIGGER note_data_write BEFORE UPDATE OF external_id, name, active, on_start_attendance,
        on_finish_attendance, on_receive_message, on_sending_message, on_message_status, updated_at
        ON accounts FOR EACH ROW EXECUTE FUNCTION note_data_write();`);
    const changed = simulator.listIds()[1] as string;
    simulator.setAccount(changed, { name: "Changed once" });
    const before = await prisma.account.findMany({ orderBy: { id: "asc" } });
    const syncedAt = () =>
      prisma.$queryRaw<{ last_synced_at: Date }[]>`
        SELECT last_synced_at FROM account_current_state ORDER BY account_id`;
    const syncedBefore = await syncedAt();

    const summary = await sync();

    expect(summary).toMatchObject({ accountsChanged: 1, accountsUnchanged: ACCOUNTS - 1 });
    const writes = await prisma.$queryRawUnsafe<{ account_id: string }[]>(
      "SELECT account_id FROM data_writes",
    );
    expect(writes).toEqual([{ account_id: changed }]);
    const after = await prisma.account.findMany({ orderBy: { id: "asc" } });
    const syncedAfter = await syncedAt();
    for (const [index, row] of after.entries()) {
      expect(syncedAfter[index]?.last_synced_at.getTime()).toBeGreaterThan(
        syncedBefore[index]?.last_synced_at.getTime() ?? Infinity,
      );
      if (row.id === changed) continue;
      expect(row.updatedAt).toEqual(before[index]?.updatedAt);
    }
  });

  it("marks a 404 account not_found, keeps its data, and records exists true→false once, then false→true on its return", async () => {
    await sync();
    const id = simulator.listIds()[2] as string;
    const remote = simulator.getAccount(id);
    simulator.deleteAccount(id);

    const gone = await sync();
    await sync();

    expect(gone).toMatchObject({ status: "succeeded", accountsNotFound: 1, driftCount: 1 });
    const row = await prisma.account.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ ...remote, lastStatus: "not_found" });
    expect(row.missingSince).not.toBeNull();
    // Warned once, with its exists drift; the next run's 404 is no news (debug).
    const warnings = logs.lines().filter((line) => line.level !== "debug" && line.accountId === id);
    expect(warnings).toEqual([
      expect.objectContaining({ field: "exists", from: "true", to: "false", runId: gone.runId }),
    ]);
    expect(logs.withMessage("account still not found on Plugchat (404)")).toEqual([
      expect.objectContaining({ accountId: id, level: "debug" }),
    ]);

    simulator.setAccount(id, remote ?? {});
    const back = await sync();

    expect(back).toMatchObject({ driftCount: 1 });
    expect((await driftRows()).map((row) => [row.field, row.oldValue, row.newValue, row.syncRunId])).toEqual([
      ["exists", "true", "false", gone.runId],
      ["exists", "false", "true", back.runId],
    ]);
    expect(await prisma.account.findUniqueOrThrow({ where: { id } })).toMatchObject({
      lastStatus: "ok",
      missingSince: null,
    });
  });

  it("finishes partial when an account keeps failing: the failure is counted, its data untouched, the others synced", async () => {
    await sync();
    const [failing, other] = simulator.listIds() as [string, string];
    const kept = await prisma.account.findUniqueOrThrow({ where: { id: failing } });
    simulator.setAccount(failing, { name: "never seen" });
    simulator.setAccount(other, { name: "seen" });
    simulator.setFault({ type: "status", status: 500 }, { accountId: failing });

    const first = await sync();
    const afterFirst = await prisma.account.findUniqueOrThrow({ where: { id: failing } });
    const second = await sync();

    expect(first).toMatchObject({ status: "partial", accountsFailed: 1, accountsChanged: 1 });
    expect(second).toMatchObject({ status: "partial", accountsFailed: 1 });
    const row = await prisma.account.findUniqueOrThrow({ where: { id: failing } });
    expect(row).toMatchObject({
      name: kept.name,
      lastStatus: "failed",
      consecutiveFailures: 2,
      lastSyncedAt: kept.lastSyncedAt,
    });
    // The spell began at the first failed attempt, and the second failure does not move it.
    expect(afterFirst.failingSince).toEqual(afterFirst.lastAttemptAt);
    expect(row.failingSince).toEqual(afterFirst.failingSince);
    expect(row.lastAttemptAt?.getTime()).toBeGreaterThan(afterFirst.failingSince?.getTime() ?? Infinity);
    expect((await prisma.account.findUniqueOrThrow({ where: { id: other } })).failingSince).toBeNull();
    expect(row.lastError).toMatch(/HTTP 500/);
    expect(row.lastError).not.toContain(TOKEN);
    expect((await prisma.account.findUniqueOrThrow({ where: { id: other } })).name).toBe("seen");

    simulator.clearFaults();
    await sync();
    expect(await prisma.account.findUniqueOrThrow({ where: { id: failing } })).toMatchObject({
      name: "never seen",
      lastStatus: "ok",
      consecutiveFailures: 0,
      lastError: null,
      failingSince: null,
    });
  });

  it("stops the whole run as failed when the token is refused, saying so, and changes no account", async () => {
    // One batch holding every account, so only the abort inside the batch keeps requests from going out.
    const summary = await sync({ client: clientFor("wrong-token"), batchSize: ACCOUNTS });

    expect(summary.status).toBe("failed");
    expect(summary.error).toMatch(/refused the token \(HTTP 401\)/);
    expect(summary.accountsTotal).toBe(0);
    // Only the requests already in flight (the concurrency) went out; none after the refusal.
    expect(simulator.requestCount()).toBeLessThanOrEqual(4);
    expect(await prisma.account.count({ where: { lastStatus: "pending" } })).toBe(ACCOUNTS);
    expect(logs.text()).not.toContain("wrong-token");
  });

  it("warns once per run about answer fields the project does not know, and records them on the run", async () => {
    simulator.setFault({ type: "extraFields", fields: { sessionName: "x", plan: "gold" } });

    const summary = await sync();

    expect(summary.unknownFields).toEqual(["plan", "sessionName"]);
    const warnings = logs.lines().filter((line) => line.level === "warn" && Array.isArray(line.fields));
    expect(warnings).toHaveLength(1);
  });

  it("refuses a second run while one is running, and records no drift twice", async () => {
    await sync();
    simulator.setAccount(simulator.listIds()[0] as string, { name: "concurrent" });
    simulator.setFault({ type: "latency", ms: 100 });

    const results = await Promise.allSettled([sync(), sync()]);

    const refused = results.filter((result) => result.status === "rejected");
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(RunInProgressError);
    expect(await prisma.accountDrift.count()).toBe(1);
  });

  it("uses up no run number for a run refused because another is running: run ids have no gaps", async () => {
    const first = await openRun({ prisma, logger: logs.logger }, "manual", { staleRunAfterMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      await expect(
        openRun({ prisma, logger: logs.logger }, "schedule", { staleRunAfterMs: 60_000 }),
      ).rejects.toBeInstanceOf(RunInProgressError);
    }
    await prisma.syncRun.update({
      where: { id: first.runId },
      data: { status: "succeeded", finishedAt: new Date() },
    });

    const next = await openRun({ prisma, logger: logs.logger }, "schedule", { staleRunAfterMs: 60_000 });
    expect(next.runId).toBe(first.runId + 1);
  });

  it("overlaps batches: the next batch's requests fill the current one's, never more than `concurrency` in all", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    // Each request is held until three are in flight at once (or 2 s, when they never are): whatever
    // the machine's speed, the first batch's two requests are still out when the next batch's come.
    let releaseAll = () => {};
    const threeInFlight = new Promise<void>((resolve) => {
      releaseAll = resolve;
    });
    const counting: PlugchatClient = {
      async getAccount(id, options) {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        if (inFlight >= 3) releaseAll();
        try {
          await Promise.race([threeInFlight, sleep(2_000)]);
          return await client.getAccount(id, options);
        } finally {
          inFlight--;
        }
      },
    };

    // Batches of 2 with 3 requests allowed: only an overlap of two batches can have 3 in flight.
    const summary = await runSync(
      { prisma, client: counting, logger: logs.logger },
      { trigger: "cli", concurrency: 3, batchSize: 2 },
    );

    expect(summary).toMatchObject({
      status: "succeeded",
      accountsTotal: ACCOUNTS,
      accountsChanged: ACCOUNTS,
    });
    expect(mostInFlight).toBe(3);
    const batches = await prisma.syncRunBatch.findMany({ orderBy: { batchIndex: "asc" } });
    expect(batches.map((batch) => [batch.batchIndex, batch.accounts])).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
    ]);
  });

  it("stops every open batch when the token is refused, and opens no batch after it", async () => {
    const summary = await runSync(
      { prisma, client: clientFor("wrong-token"), logger: logs.logger },
      { trigger: "cli", concurrency: 4, batchSize: 2 },
    );

    expect(summary.status).toBe("failed");
    expect(summary.error).toMatch(/refused the token \(HTTP 401\)/);
    expect(summary.accountsTotal).toBe(0);
    // Two batches were open (4 accounts); the third was never opened.
    expect(simulator.requestCount()).toBeLessThanOrEqual(4);
    const [, , , , fifth, sixth] = simulator.listIds();
    expect(simulator.requestCount(fifth)).toBe(0);
    expect(simulator.requestCount(sixth)).toBe(0);
    expect(await prisma.account.count({ where: { lastStatus: "pending" } })).toBe(ACCOUNTS);
    // The reason is the run's stop reason, and its error for reporting, as both columns say.
    const row = await prisma.syncRun.findUniqueOrThrow({ where: { id: summary.runId } });
    expect(row.stopReason).toMatch(/refused the token \(HTTP 401\).*; the run stopped/);
    expect(row.error).toBe(row.stopReason);
  });

  it("stops when told to (a signal): no batch opens after it, and the run is closed as interrupted, saying by what", async () => {
    simulator.setFault({ type: "latency", ms: 20 });
    const stop = new AbortController();

    const summary = await runSync(
      { prisma, client, logger: logs.logger },
      {
        trigger: "cli",
        concurrency: 1,
        batchSize: 2,
        stop: stop.signal,
        onProgress: (progress) => {
          if (progress.batchesDone === 1) stop.abort("SIGINT");
        },
      },
    );

    expect(summary).toMatchObject({ status: "interrupted", error: "interrupted by SIGINT" });
    expect(summary.finishedAt).not.toBeNull();
    const batches = await prisma.syncRunBatch.findMany({ where: { runId: summary.runId } });
    expect(batches.length).toBeLessThan(3);
    expect(summary.accountsTotal).toBe(batches.length * 2);
    expect(await prisma.account.count({ where: { lastStatus: "ok" } })).toBe(summary.accountsTotal);
    // Stopped on purpose: no error line.
    expect(logs.withMessage("sync run finished")).toEqual([
      expect.objectContaining({ level: "warn", status: "interrupted" }),
    ]);
  });

  it("records no stop reason for a run that was not stopped, even one that failed", async () => {
    const abandoned = await prisma.syncRun.create({
      data: { trigger: "schedule", heartbeatAt: new Date(Date.now() - 60 * 60_000) },
    });
    const summary = await sync({ staleRunAfterMs: 60_000 });

    const rows = await prisma.syncRun.findMany({ orderBy: { id: "asc" } });
    expect(rows.map((row) => [row.id, row.status, row.stopReason])).toEqual([
      [abandoned.id, "failed", null],
      [summary.runId, "succeeded", null],
    ]);
  });

  it("closes a run left running by a dead process once its heartbeat is stale, then runs", async () => {
    const abandoned = await prisma.syncRun.create({
      data: { trigger: "schedule", heartbeatAt: new Date(Date.now() - 60 * 60_000) },
    });

    const summary = await sync({ staleRunAfterMs: 60_000 });

    expect(summary.status).toBe("succeeded");
    expect(await prisma.syncRun.findUniqueOrThrow({ where: { id: abandoned.id } })).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/abandoned/),
    });
  });

  it("tells whoever opens the next run of each run it closed as abandoned (the worker counts them)", async () => {
    const heartbeatAt = new Date(Date.now() - 60 * 60_000);
    const abandoned = await prisma.syncRun.create({ data: { trigger: "cli", heartbeatAt } });
    const told: unknown[] = [];

    await openRun({ prisma, logger: logs.logger }, "schedule", {
      staleRunAfterMs: 60_000,
      onAbandoned: (run) => told.push(run),
    });

    expect(told).toEqual([
      { runId: abandoned.id, trigger: "cli", startedAt: abandoned.startedAt, heartbeatAt },
    ]);
  });
});
