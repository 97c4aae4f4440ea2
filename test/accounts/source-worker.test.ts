// The worker's runs follow the account source too: the built `worker` process (PostgreSQL queues) takes a
// `trigger --wait`, and its run starts by reconciling the tracked set, as `sync` does.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { CLI, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { prepareQueues, testQueueSettings } from "../queue/backends.js";

const TOKEN = "tok-source-worker-3Lp";
const prefix = `plugchat-sync-test-${randomBytes(5).toString("hex")}`;

let simulator: Simulator;
let sync: TestDatabase;
let source: TestDatabase;
let prisma: PrismaClient;
let worker: ChildProcess | undefined;
let workerLog = "";

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: sync.url,
    REDIS_URL: "",
    QUEUE_BACKEND: "",
    QUEUE_PREFIX: prefix,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: TOKEN,
    SYNC_CRON: "off",
    SYNC_MAX_ATTEMPTS: "2",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
    ACCOUNT_SOURCE_URL: source.url,
    ACCOUNT_SOURCE_QUERY: "SELECT plugchat_account_id FROM customers",
  };
}

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: 3 });
  sync = await createMigratedTestDatabase();
  await prepareQueues(testQueueSettings("postgres", sync.url, prefix));
  prisma = createPrismaClient(sync.url);
  source = await createTestDatabase();
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  await client.query("CREATE TABLE customers (plugchat_account_id text)");
  await client.query("INSERT INTO customers SELECT unnest($1::text[])", [simulator.listIds()]);
  await client.end();
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((resolve) => worker?.once("exit", resolve));
    worker.kill("SIGTERM");
    await exited;
  }
  await prisma?.$disconnect();
  await sync?.drop();
  await source?.drop();
  await simulator?.close();
});

it("a manual run through the worker first tracks the source's ids, then syncs them", async () => {
  worker = spawn(process.execPath, [CLI, "worker"], { env: env(), stdio: ["ignore", "ignore", "pipe"] });
  worker.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    workerLog += chunk;
  });
  const deadline = Date.now() + 20_000;
  while (!workerLog.includes('"worker ready"') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(workerLog, "the worker started").toContain('"worker ready"');

  const trigger = await runCli(["trigger", "--wait", "--json"], env());
  expect(trigger.code).toBe(0);
  expect(JSON.parse(trigger.stdout)).toMatchObject({
    status: "succeeded",
    accountsTotal: 3,
    accountSource: { outcome: "applied", ids: 3, added: 3, removed: 0 },
  });
  expect(await prisma.account.count({ where: { tracked: true } })).toBe(3);
  expect(workerLog).toContain('"account source reconciled"');
  expect(workerLog).not.toContain(TOKEN);
});
