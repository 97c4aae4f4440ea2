import { describe, expect, it } from "vitest";
import { createPlugchatClient } from "../../src/plugchat/index.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";

// What a person reading the logs at LOG_LEVEL=info sees: a run's start and end and what went wrong,
// not a line per account.
const TOKEN = "logs-test-token";
const ACCOUNTS = 1_000;
const BATCH_SIZE = 100;

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

function syncLoggingTo(logs: CapturedLogs) {
  const client = createPlugchatClient({
    baseUrl: setup.simulator.url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 1,
    maxRps: 0,
    logger: logs.logger,
  });
  return runSync(
    { prisma: setup.prisma, client, logger: logs.logger },
    { trigger: "cli", concurrency: 16, batchSize: BATCH_SIZE },
  );
}

describe("logs at info", () => {
  it("write a few lines for a first sync of 1,000 accounts, not one per account", async () => {
    const logs = captureLogs("info");

    const summary = await syncLoggingTo(logs);

    expect(summary).toMatchObject({ status: "succeeded", accountsChanged: ACCOUNTS });
    expect(logs.lines().map((line) => line.msg)).toEqual(["sync run started", "sync run finished"]);
    expect(logs.lines().filter((line) => "accountId" in line)).toEqual([]);
  });

  it("warn once about an account that disappears, and not again while it stays missing", async () => {
    const [gone, renamed] = setup.simulator.listIds() as [string, string];
    setup.simulator.deleteAccount(gone);
    setup.simulator.setAccount(renamed, { name: "Renamed" });
    const first = captureLogs("info");
    await syncLoggingTo(first);
    const second = captureLogs("info");
    await syncLoggingTo(second);

    const accountLines = first.lines().filter((line) => "accountId" in line);
    expect(accountLines).toHaveLength(2);
    expect(accountLines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: "info", msg: "account drift", accountId: renamed, field: "name" }),
        expect.objectContaining({
          level: "warn",
          msg: "account disappeared from Plugchat (404)",
          accountId: gone,
          field: "exists",
          from: "true",
          to: "false",
        }),
      ]),
    );
    expect(second.lines().map((line) => line.msg)).toEqual(["sync run started", "sync run finished"]);
  });

  it("warn once about an id Plugchat never knew, then keep quiet about it", async () => {
    await setup.prisma.account.create({ data: { id: "never-on-plugchat" } });
    const first = captureLogs("info");
    await syncLoggingTo(first);
    const second = captureLogs("debug");
    await syncLoggingTo(second);

    expect(first.lines().filter((line) => "accountId" in line)).toEqual([
      expect.objectContaining({ level: "warn", accountId: "never-on-plugchat" }),
    ]);
    expect(second.lines().filter((line) => line.accountId === "never-on-plugchat")).toEqual([
      expect.objectContaining({ level: "debug", msg: "account still not found on Plugchat (404)" }),
    ]);
    // At debug, each written batch has its line.
    expect(second.withMessage("sync batch written").length).toBeGreaterThanOrEqual(ACCOUNTS / BATCH_SIZE);
  });
});
