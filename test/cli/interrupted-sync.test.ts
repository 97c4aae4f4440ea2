// A real `plugchat-sync sync` process stopped by a signal in the middle of a run against a slow Plugchat:
// it closes its run as `interrupted` (only whole batches written) and exits 128 + the signal's number,
// so that the next sync starts at once. A second signal exits at once, leaving the run for `runs close`.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, type CliProcess, inheritedEnv, runCli, spawnCli } from "../helpers/cli.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";

const TOKEN = "interrupted-sync-token";
const ACCOUNTS = 2_000;
const BATCH = 100;

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return inheritedEnv({
    DATABASE_URL: setup.database.url,
    PLUGCHAT_BASE_URL: setup.simulator.url,
    PLUGCHAT_TOKEN: TOKEN,
    SYNC_BATCH_SIZE: String(BATCH),
    SYNC_CONCURRENCY: "8",
    LOG_LEVEL: "info",
    ...extra,
  });
}

/** Renames every account on Plugchat: a run that writes an account stores this name. */
function renameAll(tag: string): void {
  for (const id of setup.simulator.listIds()) setup.simulator.setAccount(id, { name: `${tag} ${id}` });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let waited = 0; waited < 60_000; waited += 20) {
    const found = await probe();
    if (found !== undefined) return found;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A sync against a slow Plugchat, once `batches` of its batches are written: its run's id. */
async function slowSyncPast(batches: number): Promise<{ sync: CliProcess; runId: number }> {
  setup.simulator.setFault({ type: "latency", ms: 40 });
  const sync = spawnCli(["sync"], env());
  const runId = await waitFor("batches written", async () => {
    const run = await setup.prisma.syncRun.findFirst({ where: { status: "running" } });
    if (!run) return undefined;
    const written = await setup.prisma.syncRunBatch.count({ where: { runId: run.id } });
    return written >= batches ? run.id : undefined;
  });
  return { sync, runId };
}

/** Each batch the run wrote is whole: exactly its ids (in the order runs read them) hold the new name. */
async function expectWholeBatches(runId: number, tag: string): Promise<number> {
  const run = await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: runId } });
  const batches = await setup.prisma.syncRunBatch.findMany({ where: { runId } });
  const ids = (await setup.prisma.account.findMany({ orderBy: { id: "asc" }, select: { id: true } })).map(
    (account) => account.id,
  );
  const expected = batches
    .flatMap((batch) => ids.slice(batch.batchIndex * BATCH, (batch.batchIndex + 1) * BATCH))
    .sort();
  const renamed = await setup.prisma.account.findMany({
    where: { name: { startsWith: `${tag} ` } },
    orderBy: { id: "asc" },
    select: { id: true },
  });
  expect(batches.every((batch) => batch.accounts === BATCH)).toBe(true);
  expect(renamed.map((account) => account.id)).toEqual(expected);
  expect(run.accountsTotal).toBe(expected.length);
  expect(await setup.prisma.accountDrift.count({ where: { syncRunId: runId } })).toBe(expected.length);
  return expected.length;
}

describe("a sync stopped by a signal", () => {
  // Every account synced once first, so that a renamed account written by a run leaves a drift row.
  beforeAll(async () => {
    expect((await runCli(["sync"], env())).code).toBe(0);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)(
    "on %s closes its run as interrupted with whole batches, exits %i, and the next sync starts at once",
    async (signal, exitCode) => {
      const tag = `renamed-${signal}`;
      renameAll(tag);
      const { sync, runId } = await slowSyncPast(2);

      sync.child.kill(signal);
      const exit = await sync.exited;

      expect(exit.code).toBe(exitCode);
      const run = await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: runId } });
      expect(run).toMatchObject({ status: "interrupted", error: `interrupted by ${signal}` });
      expect(run.finishedAt).not.toBeNull();
      const synced = await expectWholeBatches(runId, tag);
      expect(synced).toBeGreaterThanOrEqual(2 * BATCH);
      expect(synced).toBeLessThan(ACCOUNTS);
      expect(sync.stdout()).toMatch(new RegExp(`#${runId} +interrupted`));
      expect(sync.stderr()).toContain(
        `run #${runId} interrupted by ${signal}: ${synced} accounts synced, each written batch whole`,
      );

      setup.simulator.clearFaults();
      const next = await runCli(["sync", "--json"], env());
      expect(next.code).toBe(0);
      expect(JSON.parse(next.stdout)).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
      expect(await setup.prisma.account.count({ where: { name: { startsWith: `${tag} ` } } })).toBe(ACCOUNTS);
    },
  );

  it("whose terminal closes (SIGHUP, then every write to it failing) still closes its run as interrupted", async () => {
    const tag = "renamed-terminal";
    renameAll(tag);
    setup.simulator.setFault({ type: "latency", ms: 40 });
    // On a pseudo-terminal of its own (util-linux's `script`): killing `script` closes the terminal.
    const command = [process.execPath, CLI, "sync"].map((word) => `'${word}'`).join(" ");
    const terminal = spawn("script", ["-qfec", command, "/dev/null"], { env: env(), stdio: "ignore" });
    const run = await waitFor("a batch written", async () => {
      const running = await setup.prisma.syncRun.findFirst({ where: { status: "running" } });
      const batch = running && (await setup.prisma.syncRunBatch.findFirst({ where: { runId: running.id } }));
      return batch ? { runId: batch.runId, pid: Number(batch.writtenBy.split(":").pop()) } : undefined;
    });

    terminal.kill("SIGKILL");

    await waitFor("the sync process gone", () => (isAlive(run.pid) ? undefined : true));
    const closed = await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: run.runId } });
    expect(closed).toMatchObject({ status: "interrupted", error: "interrupted by SIGHUP" });
    expect(await expectWholeBatches(run.runId, tag)).toBeLessThan(ACCOUNTS);
    setup.simulator.clearFaults();
  });

  it("exits at once on a second signal, leaving its run running: sync is then refused (exit 3) until runs close closes it", async () => {
    renameAll("renamed-twice");
    const { sync, runId } = await slowSyncPast(1);
    // The run's row locked: the batch being written, and so the graceful stop, wait on it.
    const locker = new pg.Client({ connectionString: setup.database.url });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM sync_runs WHERE id = $1 FOR UPDATE", [runId]);
      sync.child.kill("SIGINT");
      await waitFor(
        "the first signal taken",
        () =>
          sync.logs().some((line) => String(line.msg).startsWith("signal received: stopping the run")) ||
          undefined,
      );
      sync.child.kill("SIGINT");
      const exit = await sync.exited;

      expect(exit.code).toBe(130);
      expect(sync.stderr()).toContain(
        `plugchat-sync: SIGINT again: exiting at once; run #${runId} is left running: close it with plugchat-sync runs close ${runId} --force`,
      );
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
    }
    const left = await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: runId } });
    expect(left.status).toBe("running");
    // What it was writing was rolled back with its connection: only whole batches.
    await expectWholeBatches(runId, "renamed-twice");
    setup.simulator.clearFaults();

    const refused = await runCli(["sync"], env());
    expect(refused.code).toBe(3);
    const abandonedFrom = new Date(left.heartbeatAt.getTime() + 5 * 60_000).toISOString();
    expect(
      refused.stderr
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("plugchat-sync:")),
    ).toEqual([
      `plugchat-sync: error: another sync run (#${runId}, cli, started ${left.startedAt.toISOString()}) is still running, ` +
        `its last heartbeat at ${left.heartbeatAt.toISOString()}: wait for it to finish. If its process is gone, ` +
        `the first run from ${abandonedFrom} (5 min without heartbeat) closes it as abandoned; ` +
        `to close it now: plugchat-sync runs close ${runId} --force`,
    ]);

    const fresh = await runCli(["runs", "close", String(runId)], env());
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(
      new RegExp(
        `^plugchat-sync: error: run #${runId} \\(cli\\) may still be going: its last heartbeat was \\d+ s ago .*add --force`,
      ),
    );
    expect((await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: runId } })).status).toBe("running");

    const forced = await runCli(["runs", "close", `#${runId}`, "--force"], env());
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(
      `run #${runId} closed as failed (closed by hand (plugchat-sync runs close))`,
    );
    const closed = await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: runId } });
    expect(closed).toMatchObject({ status: "failed", error: "closed by hand (plugchat-sync runs close)" });
    expect(closed.finishedAt).not.toBeNull();
    // Closed the way every run is: the mismatches compared, once.
    expect(closed.mismatchesOpen).not.toBeNull();

    const again = await runCli(["runs", "close", String(runId)], env());
    expect(again).toMatchObject({
      code: 1,
      stderr: `plugchat-sync: error: run #${runId} is closed already (failed, finished ${closed.finishedAt?.toISOString()}): nothing to do\n`,
    });
    expect((await runCli(["sync"], env())).code).toBe(0);
    // Seven CLI processes one after another and a sync of 2,000 accounts: over the default 30 s on a
    // loaded machine.
  }, 120_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("plugchat-sync runs close", () => {
  it("closes a run whose heartbeat is stale without --force", async () => {
    const stale = await setup.prisma.syncRun.create({
      data: { trigger: "schedule", heartbeatAt: new Date(Date.now() - 10 * 60_000) },
    });

    const closed = await runCli(["runs", "close", String(stale.id)], env());

    expect(closed.code).toBe(0);
    expect(await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: stale.id } })).toMatchObject({
      status: "failed",
      error: "closed by hand (plugchat-sync runs close)",
    });
  });

  it("refuses an unknown run (exit 1) and a bad run number (exit 2), each in one line", async () => {
    const unknown = await runCli(["runs", "close", "987654"], env());
    expect(unknown).toMatchObject({
      code: 1,
      stderr:
        "plugchat-sync: error: there is no run #987654 (plugchat-sync report --runs 20 lists the latest)\n",
    });

    for (const bad of ["abc", "0", "99999999999"]) {
      const refused = await runCli(["runs", "close", bad], env());
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr.trim().split("\n")[0], bad).toMatch(/expected a run number such as 12/);
    }
  });
});

describe("a run left by a dead process", () => {
  it("is logged when the next sync closes it as abandoned: one warn line naming it, its trigger and its last heartbeat", async () => {
    const heartbeatAt = new Date(Date.now() - 10 * 60_000);
    const dead = await setup.prisma.syncRun.create({ data: { trigger: "manual", heartbeatAt } });

    const sync = await runCli(["sync"], env({ LOG_LEVEL: "warn" }));

    expect(sync.code).toBe(0);
    const lines = sync.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => String(line.msg).includes("closed as abandoned"));
    expect(lines).toEqual([
      expect.objectContaining({
        level: "warn",
        runId: dead.id,
        trigger: "manual",
        heartbeatAt: heartbeatAt.toISOString(),
        msg: `sync run #${dead.id} (manual) closed as abandoned: no heartbeat since ${heartbeatAt.toISOString()} (over 5 min: its process crashed or was killed)`,
      }),
    ]);
    expect(await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: dead.id } })).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/^abandoned/),
    });
  });
});
