// Progress on a terminal: drawn when stderr is one (a real pseudo-terminal, from util-linux's
// `script`), absent when it is piped, where stderr keeps nothing but JSON log lines.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { followRun } from "../../src/cli/follow-run.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { CLI, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { spawnCli } from "../queue/helpers.js";

const TOKEN = "progress-test-token";
const ACCOUNTS = 2_000;

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let dir: string;

function env(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    DATABASE_URL: database.url,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: TOKEN,
    SYNC_BATCH_SIZE: "200",
    SYNC_CONCURRENCY: "16",
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
  };
}

/** Runs the built CLI with its stdin, stdout and stderr on a pseudo-terminal; all its output. */
function onTerminal(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; output: string }> {
  const command = [process.execPath, CLI, ...args].map((word) => `'${word}'`).join(" ");
  return new Promise((resolve) => {
    execFile(
      "script",
      ["-qfec", command, "/dev/null"],
      { env: { ...env(), ...extraEnv } },
      (error, stdout) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout });
      },
    );
  });
}

/** A stream that says it is a terminal, keeping what is drawn on it. */
function fakeTerminal(): { stream: NodeJS.WriteStream; drawn: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let drawn = "";
  stream.on("data", (chunk: Buffer) => {
    drawn += chunk.toString("utf8");
  });
  Object.assign(stream, {
    isTTY: true,
    columns: 160,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  return { stream, drawn: () => drawn };
}

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
  dir = mkdtempSync(join(tmpdir(), "plugchat-progress-"));
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
  await simulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("sync on a terminal", () => {
  it("draws a progress line with done of total, rate, ETA and outcomes, then prints the summary", async () => {
    simulator.setFault({ type: "latency", ms: 10 });
    const { code, output } = await onTerminal(["sync"]);
    simulator.clearFaults();

    expect(code).toBe(0);
    expect(output).toMatch(/run #1 .* \d+\/2000 accounts \(batch \d+\/13\) \| [\d.]+\/s \| ETA /);
    // 2,000 accounts at 200 a batch: 9 full batches, then a tail of 100, 50, 32 and 18.
    expect(output).toContain("2000/2000 accounts (batch 13/13)");
    expect(output).toMatch(/changed 2000, failed 0, not found 0/);
    // Redrawn in place: carriage returns or cursor moves, not one line per update.
    expect(output.includes("\r") || output.includes("\u001b[")).toBe(true);
    expect(output).toMatch(/ETA \d+ s/);
    // The progress line is done before the run's summary: its log line, then the table.
    expect(output.lastIndexOf("2000/2000 accounts")).toBeLessThan(output.indexOf("sync run finished"));
    expect(output.indexOf("sync run finished")).toBeLessThan(output.lastIndexOf("succeeded"));
  });

  it("draws nothing when stderr is piped: every stderr line is a JSON log line", async () => {
    const { code, stderr, stdout } = await runCli(["sync"], env());

    expect(code).toBe(0);
    expect(stdout).toMatch(/succeeded/);
    expect(stderr).not.toMatch(/accounts\/s|ETA/);
    expect(stderr.includes("\r") || stderr.includes("\u001b[")).toBe(false);
    const lines = stderr.split("\n").filter((line) => line !== "");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe("accounts import of a large file on a terminal", () => {
  it("draws its progress; piped, prints only its result", async () => {
    const file = join(dir, "ids.txt");
    writeFileSync(file, Array.from({ length: 12_000 }, (_, i) => `import-${i}`).join("\n"));

    try {
      const terminal = await onTerminal(["accounts", "import", file]);
      expect(terminal.code).toBe(0);
      expect(terminal.output).toMatch(/import .* 12000\/12000 \| \d+\/s/);

      const piped = await runCli(["accounts", "import", file], env());
      expect(piped.code).toBe(0);
      expect(piped.stderr).toBe("");
      expect(piped.stdout).toMatch(/^imported .*12000 already tracked/);
    } finally {
      // Ids Plugchat does not know: the runs of the next tests must sync only the simulator's.
      await prisma.account.deleteMany({ where: { id: { startsWith: "import-" } } });
    }
  });
});

describe("trigger --wait on a terminal", () => {
  it("draws the progress of the run a worker process runs, then prints the run's summary", async () => {
    // The queues in the same database (no REDIS_URL): migrate gives it the queue schema.
    const queues = { QUEUE_PREFIX: `progress-${process.pid}`, SYNC_CRON: "off", METRICS_PORT: "0" };
    expect((await runCli(["migrate"], { ...env(), ...queues })).code).toBe(0);
    // Nothing of this process's environment chooses Redis for the worker.
    const worker = spawnCli(["worker"], { ...env(), ...queues, REDIS_URL: "", QUEUE_BACKEND: "" } as Record<
      string,
      string
    >);
    try {
      await expect
        .poll(() => worker.logs().some((line) => line.msg === "worker ready"), { timeout: 15_000 })
        .toBe(true);
      // About 4 s of run (2,000 accounts, 16 at a time, 30 ms each): several drawings, a second apart.
      simulator.setFault({ type: "latency", ms: 30 });
      const { code, output } = await onTerminal(["trigger", "--wait"], queues);
      simulator.clearFaults();

      expect(code).toBe(0);
      expect(output).toMatch(/run #\d+ .* \d+\/2000 accounts \(batch \d+\/13\) \| [\d.]+\/s/);
      // Drawn while the run was going (fewer than all accounts), and last when it was done.
      const counts = [...output.matchAll(/(\d+)\/2000 accounts/g)].map((match) => Number(match[1]));
      expect(counts.some((count) => count < 2000)).toBe(true);
      expect(counts.at(-1)).toBe(2000);
      expect(output.lastIndexOf("2000/2000 accounts")).toBeLessThan(output.lastIndexOf("succeeded"));
    } finally {
      simulator.clearFaults();
      worker.child.kill("SIGTERM");
      await worker.exited;
    }
  }, 60_000);
});

describe("followRun (trigger --wait)", () => {
  it("draws a run's progress from its row, whoever runs it, until the run is closed", async () => {
    const run = await prisma.syncRun.create({
      data: {
        trigger: "manual",
        accountsPlanned: 1_000,
        batchesPlanned: 4,
        accountsTotal: 250,
        accountsChanged: 7,
      },
    });
    await prisma.syncRunBatch.create({
      data: { runId: run.id, batchIndex: 0, accounts: 250, writtenBy: "test" },
    });
    const { stream, drawn } = fakeTerminal();

    const following = followRun(prisma, run.id, stream, 20);
    await expect.poll(drawn).toContain("250/1000 accounts (batch 1/4)");
    await prisma.syncRun.update({
      where: { id: run.id },
      data: { accountsTotal: 1_000, accountsFailed: 2, status: "partial", finishedAt: new Date() },
    });
    await expect.poll(drawn, { timeout: 5_000 }).toContain("1000/1000 accounts");
    await following.stop();

    expect(drawn()).toMatch(/changed 7, failed 2, not found 0/);
  });

  it("draws the closed run when stopped, even between two polls", async () => {
    const run = await prisma.syncRun.create({
      data: { trigger: "manual", accountsPlanned: 400, batchesPlanned: 2, accountsTotal: 200 },
    });
    const { stream, drawn } = fakeTerminal();

    // A poll every minute: only the first drawing and the one stop() makes can happen.
    const following = followRun(prisma, run.id, stream, 60_000);
    await expect.poll(drawn).toContain("200/400 accounts");
    await prisma.syncRun.update({
      where: { id: run.id },
      data: { accountsTotal: 400, status: "succeeded", finishedAt: new Date() },
    });
    await following.stop();

    expect(drawn()).toContain("400/400 accounts");
  });

  it("writes nothing, and reads nothing, when the stream is not a terminal", async () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let written = "";
    (stream as unknown as PassThrough).on("data", (chunk: Buffer) => {
      written += chunk.toString();
    });
    const failing = new Proxy({} as PrismaClient, {
      get: () => {
        throw new Error("followRun queried the database without a terminal");
      },
    });
    const following = followRun(failing, 1, stream, 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await following.stop();
    expect(written).toBe("");
  });
});
