// The database lost at random moments of a `sync`: the embedded PostgreSQL's server killed with
// SIGKILL (as the OOM killer does) while a `sync` of the built CLI runs, at least 20 times, at a
// random moment each time (seeded: FAULT_SEED replays a sequence). Half the tries reach the server
// through DATABASE_URL, half as the embedded server (DATABASE_URL unset).
//
// What is proven: every try ends in a finished run (exit 0) or in one clear line naming the setting to
// look at (DATABASE_URL, or the embedded PostgreSQL), exit 1: never "unexpected error", never a stack
// trace; nothing is half-written; after the last try, a run on a server that stays up is correct.
import { spawnSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { runCli, spawnCli } from "../helpers/cli.js";
import { freePort } from "../helpers/free-port.js";
import { compareWithPlugchat, FAULT_TOKEN, recordOutput, recordScenarioResult } from "./support.js";
import { faultSeed, seededRandom } from "./worker-harness.js";

const TRIES = 20;
const ACCOUNTS = 300;

let root: string;
let simulator: Simulator;
let env: NodeJS.ProcessEnv;
let embeddedUrl: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "plugchat-db-loss-"));
  // Under root the server runs as postgres, which must pass through.
  await chmod(root, 0o711);
  simulator = await startSimulator({ token: FAULT_TOKEN, accounts: ACCOUNTS, recordRequests: false });
  // Slow enough answers that a sync lasts a second or two: the kill lands in every phase of it.
  simulator.setFault({ type: "latency", ms: 15 });
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PLUGCHAT_SYNC_DATA_DIR: join(root, "data"),
    PLUGCHAT_SYNC_DB_PORT: String(await freePort()),
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: FAULT_TOKEN,
    SYNC_CONCURRENCY: "4",
    SYNC_BATCH_SIZE: "50",
    LOG_PRETTY: "false",
  };
  expect((await runCli(["db", "start"], env)).code).toBe(0);
  embeddedUrl = (await runCli(["db", "url"], env)).stdout.trim();
  expect((await runCli(["accounts", "import", "-"], env, simulator.listIds().join("\n"))).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await runCli(["db", "stop"], env).catch(() => undefined);
  await simulator?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** The pid of the running server's postmaster, from its postmaster.pid. */
async function postmasterPid(): Promise<number | undefined> {
  const text = await readFile(join(root, "data", "pg", "postmaster.pid"), "utf8").catch(() => undefined);
  const pid = Number(text?.split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The server up again (pinned, so that it stays up between tries). */
async function serverUp(context: string): Promise<void> {
  const started = await runCli(["db", "start"], env);
  if (started.code === 0) return;
  // Say what the server and its processes were doing: a failure here is the product's, not the try's.
  const log = await readFile(join(root, "data", "pg", "server.log"), "utf8").catch(() => "(no log)");
  const processes = spawnSync("ps", ["-eo", "pid,ppid,stat,lstart,args"], { encoding: "utf8" }).stdout;
  const pidFile = await readFile(join(root, "data", "pg", "postmaster.pid"), "utf8").catch(() => "(none)");
  expect.fail(
    `db start failed (${context}): ${started.stderr}\npostmaster.pid:\n${pidFile}\nserver log (tail):\n${log.slice(-4_000)}\nprocesses:\n${processes
      .split("\n")
      .filter((line) => /postgres|PID/.test(line))
      .join("\n")}`,
  );
}

/**
 * A run left open by the try before (its process could not close it with the server gone), closed
 * with `runs close --force` as an operator would: this scenario is about the error, not the leftovers.
 */
async function closeRunLeftOpen(): Promise<void> {
  const client = new pg.Client({ connectionString: embeddedUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number }>("SELECT id FROM sync_runs WHERE status = 'running'");
    for (const { id } of rows) {
      const closed = await runCli(["runs", "close", String(id), "--force"], env);
      expect(closed.code, closed.stderr).toBe(0);
    }
  } finally {
    await client.end();
  }
}

describe("the database lost at random moments of a sync", () => {
  it(`ends each of ${TRIES} syncs in a finished run or one clear line naming the right setting`, async () => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    const outcomes: string[] = [];
    let lastTryStderr = "";
    for (let attempt = 0; attempt < TRIES; attempt++) {
      await serverUp(
        `seed ${seed}, before try ${attempt}, after: ${outcomes.join(", ") || "none"}; the last try's stderr: ${lastTryStderr.slice(-1_500)}`,
      );
      await closeRunLeftOpen();
      const throughUrl = attempt % 2 === 1;
      const syncEnv = throughUrl ? { ...env, DATABASE_URL: embeddedUrl } : env;
      const sync = spawnCli(["sync"], syncEnv);
      const killAfterMs = random.int(0, 2_500);
      await Promise.race([sleep(killAfterMs), sync.exited]);
      const pid = await postmasterPid();
      if (pid !== undefined) spawnSync("kill", ["-KILL", String(pid)]);
      const exit = await sync.exited;
      const stderr = sync.stderr();
      lastTryStderr = stderr;
      recordOutput(`database loss try ${attempt} (seed ${seed})`, `${stderr}\n${sync.stdout()}`);
      const context = `seed ${seed}, try ${attempt}, killed after ${killAfterMs} ms, exit ${exit.code}:\n${stderr.slice(-2_000)}`;
      expect(stderr, context).not.toContain("unexpected error");
      expect(stderr, context).not.toMatch(/^\s+at /m);
      expect([0, 1], context).toContain(exit.code);
      if (exit.code === 1) {
        const errorLines = stderr.split("\n").filter((line) => line.startsWith("plugchat-sync: error: "));
        expect(errorLines, context).toHaveLength(1);
        expect(errorLines[0], context).toContain(throughUrl ? "DATABASE_URL" : "embedded PostgreSQL");
        expect(errorLines[0], context).not.toContain(new URL(embeddedUrl).password);
      }
      outcomes.push(
        `${exit.code === 0 ? "finished" : "lost"} (killed after ${killAfterMs} ms${throughUrl ? ", DATABASE_URL" : ""})`,
      );
    }

    // With the server up, the next run completes and matches Plugchat.
    await serverUp(`seed ${seed}, after the last try`);
    await closeRunLeftOpen();
    const last = await runCli(["sync"], { ...env, DATABASE_URL: embeddedUrl });
    expect(last.code, last.stderr).toBe(0);
    const ids = simulator.listIds();
    const mismatches = await compareWithPlugchat(embeddedUrl, ids, (id) => simulator.getAccount(id));
    await recordScenarioResult(embeddedUrl, {
      scenario: "embedded PostgreSQL killed at random moments of sync",
      faultsInjected: TRIES,
      runs: TRIES + 1,
      accountsChecked: ids.length,
      mismatches: mismatches.length,
    });
    expect(mismatches).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.startsWith("lost")).length).toBeGreaterThan(0);
  }, 900_000);
});
