import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { createPlugchatClient } from "../../src/plugchat/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { createMigratedTestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

const TOKEN = "crash-test-token";
const ACCOUNTS = 12;

let simulator: Simulator;
let database: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
  await simulator.close();
});

function syncInChildProcess() {
  return spawn(process.execPath, ["dist/cli/main.js", "sync"], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_BATCH_SIZE: "2",
      SYNC_CONCURRENCY: "1",
      LOG_LEVEL: "warn",
    },
    stdio: "ignore",
  });
}

it("a run killed with SIGKILL mid-way leaves whole batches only, and the rerun fixes the rest without duplicate drift", async () => {
  const logs = captureLogs();
  const client = createPlugchatClient({
    baseUrl: simulator.url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 2,
    maxRps: 0,
    logger: logs.logger,
  });
  await runSync({ prisma, client, logger: logs.logger }, { trigger: "cli", concurrency: 4 });
  // Two fields change on every account, so each must end with exactly two drift rows.
  for (const id of simulator.listIds()) {
    simulator.setAccount(id, { name: `renamed ${id}`, active: !simulator.getAccount(id)?.active });
  }
  const expected = new Map(simulator.listIds().map((id) => [id, simulator.getAccount(id)]));
  simulator.setFault({ type: "latency", ms: 60 });

  const child = syncInChildProcess();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // Wait until the child has committed at least one batch, then kill it without warning.
  for (let waited = 0; waited < 20_000; waited += 20) {
    const running = await prisma.syncRun.findFirst({ where: { status: "running" } });
    if (running && running.accountsTotal >= 2) break;
    await sleep(20);
  }
  child.kill("SIGKILL");
  await exited;

  const killed = await prisma.syncRun.findFirstOrThrow({ where: { status: "running" } });
  expect(killed.accountsTotal).toBeGreaterThanOrEqual(2);
  expect(killed.accountsTotal).toBeLessThan(ACCOUNTS);
  expect(killed.accountsTotal % 2).toBe(0);
  // Whole batches only: every drift row belongs to an account whose data was written.
  const halfway = await prisma.account.findMany({ where: { name: { startsWith: "renamed" } } });
  expect(await prisma.accountDrift.count()).toBe(halfway.length * 2);

  simulator.clearFaults();
  const rerun = await runSync(
    { prisma, client, logger: logs.logger },
    { trigger: "cli", concurrency: 4, staleRunAfterMs: 0 },
  );

  expect(rerun.status).toBe("succeeded");
  expect(await prisma.syncRun.findUniqueOrThrow({ where: { id: killed.id } })).toMatchObject({
    status: "failed",
  });
  for (const id of simulator.listIds()) {
    expect(await prisma.account.findUniqueOrThrow({ where: { id } })).toMatchObject(expected.get(id) ?? {});
  }
  const perField = await prisma.accountDrift.groupBy({ by: ["accountId", "field"], _count: true });
  expect(perField).toHaveLength(ACCOUNTS * 2);
  expect(perField.every((group) => group._count === 1)).toBe(true);
});
