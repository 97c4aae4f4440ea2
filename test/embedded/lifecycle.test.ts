// The embedded PostgreSQL as users meet it: real processes of the built CLI (npm run build first),
// DATABASE_URL unset, each test with a data directory of its own.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.js";
import { CLI, type CliExit, type CliProcess, runCli, spawnCli } from "../helpers/cli.js";
import { freePort } from "../helpers/free-port.js";

const isRoot = process.getuid?.() === 0;
const run = promisify(execFile);
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "plugchat-embedded-"));
  // mkdtemp makes 0700: under root the server's user (postgres) must be able to pass through.
  await chmod(root, 0o711);
});

afterAll(async () => {
  // Whatever a failed test left running is stopped before its directory goes.
  for (const dir of started) await runCli(["db", "stop"], envFor(dir)).catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

const started = new Set<{ dataDir: string; port: number }>();

interface Place {
  dataDir: string;
  port: number;
}

async function newPlace(): Promise<Place> {
  const place = { dataDir: join(root, `data-${started.size}`), port: await freePort() };
  started.add(place);
  return place;
}

function envFor(place: Place, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PLUGCHAT_SYNC_DATA_DIR: place.dataDir,
    PLUGCHAT_SYNC_DB_PORT: String(place.port),
    LOG_PRETTY: "false",
    ...extra,
  };
}

function cli(place: Place, args: string[], stdin = ""): Promise<CliExit> {
  return runCli(args, envFor(place), stdin);
}

async function status(place: Place): Promise<{ running: boolean; pid: number | null; port: number }> {
  const exit = await cli(place, ["db", "status", "--json"]);
  expect(exit.code, exit.stderr).toBe(0);
  return JSON.parse(exit.stdout);
}

/** `accounts list` whose stdout is not read: it holds the server, stuck on a full pipe, until resumed. */
async function stalledList(place: Place): Promise<{ child: ChildProcess; finish(): Promise<CliExit> }> {
  const child = spawn(process.execPath, [CLI, "accounts", "list"], {
    env: envFor(place),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  // Read the first chunk, then stop reading: the table's rest (well over a pipe's 64 KiB) waits.
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8")));
    child.once("close", () => reject(new Error(`accounts list ended early: ${stderr}`)));
  });
  child.stdout?.pause();
  return {
    child,
    finish: async () => {
      let stdout = first;
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stdout?.resume();
      return { code: await closed, stdout, stderr };
    },
  };
}

/** Waits for `condition`, polling; fails naming `what` after 60 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 100) {
    if (waited > 60_000) throw new Error(`waited 60 s for ${what}`);
    await sleep(100);
  }
}

const MANY = Array.from({ length: 20_000 }, (_, index) => `acc-${String(index).padStart(5, "0")}`);

describe("the embedded PostgreSQL (DATABASE_URL unset)", { timeout: 90_000 }, () => {
  it("is created, migrated and started by the first command, which says so in one line, and stopped when it ends", async () => {
    const place = await newPlace();
    const exit = await cli(place, ["accounts", "add", "a-1", "a-2"]);
    expect(exit).toMatchObject({ code: 0, stdout: "2 added, 0 re-tracked, 0 already tracked\n" });
    const said = exit.stderr.split("\n").filter((line) => line.includes("started the embedded PostgreSQL"));
    expect(said).toEqual([
      `plugchat-sync: started the embedded PostgreSQL (data in ${place.dataDir}) at postgresql://postgres@127.0.0.1:${place.port}/plugchat_sync; \`plugchat-sync db url\` prints it with the password (DATABASE_URL unset)`,
    ]);
    expect(await status(place)).toMatchObject({ running: false });
    // The data survives the stop: the next command finds it.
    const list = await cli(place, ["accounts", "list", "--json"]);
    expect(JSON.parse(list.stdout).map((row: { id: string }) => row.id)).toEqual(["a-1", "a-2"]);
  });

  it("is shared by commands running at once: none stops it while another uses it", async () => {
    const place = await newPlace();
    // Several first commands at once: one starts it, every one succeeds.
    const firsts = await Promise.all(
      [0, 1, 2].map((n) =>
        cli(place, ["accounts", "import", "-"], MANY.slice(n * 5000, n * 5000 + 10_000).join("\n")),
      ),
    );
    for (const exit of firsts) expect(exit.code, exit.stderr).toBe(0);
    expect(
      firsts.filter((exit) => exit.stderr.includes("started the embedded PostgreSQL")).length,
    ).toBeGreaterThanOrEqual(1);
    await cli(place, ["accounts", "import", "-"], MANY.join("\n"));

    const held = await stalledList(place);
    // Another command comes and goes while the first is still using the server.
    expect(await cli(place, ["report"])).toMatchObject({ code: 0 });
    expect(await status(place)).toMatchObject({ running: true, port: place.port });
    const listed = await held.finish();
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`${MANY.length} accounts\n`);
    // The last one out stopped it.
    expect(await status(place)).toMatchObject({ running: false });
  });

  it("survives SIGKILL of the process that started it, then of the server itself: the next command works and nothing is lost", async () => {
    const place = await newPlace();
    expect((await cli(place, ["accounts", "import", "-"], MANY.join("\n"))).code).toBe(0);

    const held = await stalledList(place);
    const { pid } = await status(place);
    held.child.kill("SIGKILL");
    await new Promise((resolve) => held.child.once("close", resolve));
    // Its server runs on (another command may be using it), and the next command uses it.
    expect(await status(place)).toMatchObject({ running: true, pid });
    let listed = await cli(place, ["accounts", "list", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveLength(MANY.length);
    // ...and, being the last live one, stopped it: the dead process's lease does not keep it up.
    expect(await status(place)).toMatchObject({ running: false });

    // Power loss: the server killed with no shutdown, its postmaster.pid left behind.
    const again = await stalledList(place);
    const server = await status(place);
    expect(server.running).toBe(true);
    process.kill(server.pid as number, "SIGKILL");
    again.child.kill("SIGKILL");
    await new Promise((resolve) => again.child.once("close", resolve));
    const pidFile = await readFile(join(place.dataDir, "pg", "postmaster.pid"), "utf8");
    expect(pidFile.split("\n")[0]).toBe(String(server.pid));
    expect(await status(place)).toMatchObject({ running: false });

    expect(await cli(place, ["accounts", "add", "after-crash"])).toMatchObject({ code: 0 });
    listed = await cli(place, ["accounts", "list", "--json"]);
    expect(JSON.parse(listed.stdout)).toHaveLength(MANY.length + 1);
  });

  it("is started again by a command that finds it gone between reading postmaster.pid and connecting", async () => {
    const place = await newPlace();
    expect((await cli(place, ["accounts", "add", "before-loss"])).code).toBe(0);
    expect(await status(place)).toMatchObject({ running: false });
    // A postmaster.pid that says "ready", of a live process named postgres on the server's port, which
    // drops the first connection and exits: a server killed right after the command found it up.
    const dying = spawn(
      process.execPath,
      [
        "-e",
        `const server = require("node:net").createServer((socket) => { socket.destroy(); server.close(); process.exit(0); });
         server.listen(${place.port}, "127.0.0.1", () => process.stdout.write("listening"));`,
      ],
      { argv0: "postgres", stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((resolve) => dying.once("exit", resolve));
    await new Promise((resolve) => dying.stdout?.once("data", resolve));
    const pgdata = join(place.dataDir, "pg");
    const pidFile = [
      dying.pid,
      pgdata,
      Math.floor(Date.now() / 1000),
      place.port,
      "",
      "127.0.0.1",
      "1 2",
      "ready",
    ];
    await writeFile(join(pgdata, "postmaster.pid"), `${pidFile.join("\n")}\n`);
    expect(await status(place)).toMatchObject({ running: true, pid: dying.pid });

    const listed = await cli(place, ["accounts", "list", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    await exited;
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    expect(listed.stderr).toContain("started the embedded PostgreSQL");
  });

  it("is started again by a worker whose server was killed under it, and the worker goes on syncing", async () => {
    const place = await newPlace();
    const simulator = await startSimulator({ token: "keep-alive-token", accounts: 20 });
    const env = envFor(place, {
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: "keep-alive-token",
      SYNC_CRON: "0 0 1 1 *",
      METRICS_PORT: "0",
    });
    let worker: CliProcess | undefined;
    try {
      expect((await runCli(["accounts", "import", "-"], env, simulator.listIds().join("\n"))).code).toBe(0);
      worker = spawnCli(["worker"], env);
      await until(() => worker?.logs().some((log) => log.msg === "worker ready") ?? false, "worker ready");
      const before = await status(place);
      process.kill(before.pid as number, "SIGKILL");
      await until(
        () => worker?.logs().some((log) => String(log.msg).includes("started it again")) ?? false,
        "the worker starting the server again",
      );
      expect(await status(place)).toMatchObject({ running: true, port: place.port });
      expect((await status(place)).pid).not.toBe(before.pid);
      const triggered = await runCli(["trigger", "--wait"], env);
      expect(triggered.code, triggered.stderr).toBe(0);
      const report = await runCli(["report", "--json"], env);
      expect(JSON.parse(report.stdout).runs[0]).toMatchObject({ status: "succeeded", accountsTotal: 20 });
      // Its metrics name the database it reaches: the embedded one.
      const port = worker.logs().find((log) => log.msg === "health and metrics endpoint listening")?.port;
      const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(scrape).toMatch(/^plugchat_sync_database_up\{database="embedded"\} 1$/m);
    } finally {
      worker?.child.kill("SIGTERM");
      await worker?.exited;
      await simulator.close();
    }
  });

  it("db start keeps it up for psql until db stop; db url prints the URL with the password", async () => {
    const place = await newPlace();
    const started = await cli(place, ["db", "start"]);
    expect(started.code, started.stderr).toBe(0);
    expect(await status(place)).toMatchObject({ running: true, port: place.port });
    const url = await cli(place, ["db", "url"]);
    expect(url.stdout).toMatch(
      new RegExp(`^postgresql://postgres:[A-Za-z0-9_-]{20,}@127\\.0\\.0\\.1:${place.port}/plugchat_sync\\n$`),
    );
    // Still up after other commands came and went.
    expect(await cli(place, ["accounts", "add", "kept-1"])).toMatchObject({ code: 0 });
    const text = await cli(place, ["db", "status"]);
    expect(text.stdout).toContain(`embedded PostgreSQL: running`);
    expect(text.stdout).toContain(`port ${place.port}`);
    expect(text.stdout).toContain(`data: ${place.dataDir}\n`);
    expect(text.stdout).not.toContain(new URL(url.stdout.trim()).password);
    expect(await cli(place, ["db", "stop"])).toMatchObject({
      code: 0,
      stdout: `stopped the embedded PostgreSQL (data in ${place.dataDir})\n`,
    });
    expect(await status(place)).toMatchObject({ running: false });
  });

  it.runIf(isRoot)(
    "under root, runs the server as the postgres user, with the data directory its own and mode 0700",
    async () => {
      const place = await newPlace();
      expect((await cli(place, ["db", "start"])).code).toBe(0);
      const { pid } = await status(place);
      const owner = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1];
      const pgdata = await stat(join(place.dataDir, "pg"));
      const password = await stat(join(place.dataDir, "password"));
      expect(Number(owner)).toBe(pgdata.uid);
      expect(pgdata.uid).not.toBe(0);
      expect(pgdata.mode & 0o777).toBe(0o700);
      // The password file stays root's alone; the directory above lets the server through, no more.
      expect({ uid: password.uid, mode: password.mode & 0o777 }).toEqual({ uid: 0, mode: 0o600 });
      expect((await stat(place.dataDir)).mode & 0o777).toBe(0o711);
      await cli(place, ["db", "stop"]);
    },
  );

  it.runIf(isRoot)(
    "under root, refuses in one line a data directory the postgres user cannot reach",
    async () => {
      const hidden = await mkdtemp(join(root, "hidden-"));
      await chmod(hidden, 0o700);
      const place = { dataDir: join(hidden, "data"), port: await freePort() };
      const exit = await cli(place, ["accounts", "list"]);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(
        `plugchat-sync: error: the embedded PostgreSQL runs as the user "postgres", which cannot enter ${hidden} (mode 0700): set PLUGCHAT_SYNC_DATA_DIR to a directory it can reach (such as /var/lib/plugchat-sync), or let it through with \`chmod o+x ${hidden}\`\n`,
      );
    },
  );

  it.runIf(isRoot)(
    "as root in a user namespace that maps no postgres user, says so in one line and makes no database",
    async () => {
      const place = await newPlace();
      // `unshare -r`: a namespace whose only user is root, as some rootless containers have.
      const exit = await run("unshare", ["-r", process.execPath, CLI, "accounts", "list"], {
        env: envFor(place),
      }).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => error,
      );
      const uid = Number((await run("id", ["-u", "postgres"])).stdout);
      expect(exit).toMatchObject({
        code: 1,
        stderr: `plugchat-sync: error: running as root in a user namespace that does not map the "postgres" user (uid ${uid}), and PostgreSQL does not run as root: map that user into the namespace, run plugchat-sync as a user other than root, or set DATABASE_URL to a PostgreSQL server of yours\n`,
      });
      await expect(stat(join(place.dataDir, "pg"))).rejects.toMatchObject({ code: "ENOENT" });
    },
  );

  it.runIf(isRoot)(
    "as a normal user, keeps the data in ~/.local/share/plugchat-sync and runs the server as that user",
    async () => {
      const uid = Number((await run("id", ["-u", "nobody"])).stdout);
      const gid = Number((await run("id", ["-g", "nobody"])).stdout);
      const home = await mkdtemp(join(root, "home-"));
      await chown(home, uid, gid);
      const port = await freePort();
      const asUser = (args: string[]) =>
        run(process.execPath, [CLI, ...args], {
          uid,
          gid,
          env: {
            PATH: process.env.PATH,
            HOME: home,
            PLUGCHAT_SYNC_DB_PORT: String(port),
            LOG_PRETTY: "false",
          },
        });
      await asUser(["db", "start"]);
      try {
        const status = JSON.parse((await asUser(["db", "status", "--json"])).stdout);
        expect(status).toMatchObject({
          running: true,
          port,
          dataDir: join(home, ".local/share/plugchat-sync"),
        });
        const owner = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${status.pid}/status`, "utf8"))?.[1];
        expect(Number(owner)).toBe(uid);
        expect((await stat(join(status.dataDir, "pg"))).uid).toBe(uid);
      } finally {
        await asUser(["db", "stop"]);
      }
    },
  );

  it("refuses in one line a data directory of another PostgreSQL major version", async () => {
    const place = await newPlace();
    await mkdir(join(place.dataDir, "pg"), { recursive: true });
    await writeFile(join(place.dataDir, "pg", "PG_VERSION"), "15\n");
    const exit = await cli(place, ["report"]);
    expect(exit.code).toBe(1);
    expect(exit.stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(
        /^plugchat-sync: error: .*\/pg holds a PostgreSQL 15 database and this plugchat-sync runs PostgreSQL \d+: copy the data over with PostgreSQL 15's pg_dump .*, or move the directory away to start afresh$/,
      ),
    ]);
  });

  it.runIf(isRoot)(
    "says in one line that the disk is full, and leaves no lock behind for the next command",
    async () => {
      const disk = await mkdtemp(join(root, "small-disk-"));
      await chmod(disk, 0o711);
      // A 12 MB file system: too small for initdb (about 40 MB).
      await run("mount", ["-t", "tmpfs", "-o", "size=12m,mode=0711", "tmpfs", disk]);
      try {
        const place = { dataDir: join(disk, "data"), port: await freePort() };
        const line = `plugchat-sync: error: the disk holding ${place.dataDir} is full (no space left on device): free some space there, or set PLUGCHAT_SYNC_DATA_DIR to a directory on another disk\n`;
        expect(await cli(place, ["report"])).toMatchObject({ code: 1, stderr: line });
        // Not one byte left: even the lock file cannot be written; it must not stay behind, empty,
        // for the next command to wait on.
        await run("dd", ["if=/dev/zero", `of=${join(disk, "filler")}`, "bs=1M"]).catch(() => undefined);
        expect(await cli(place, ["report"])).toMatchObject({ code: 1, stderr: line });
        expect(await cli(place, ["report"])).toMatchObject({ code: 1, stderr: line });
      } finally {
        await run("umount", [disk]);
      }
    },
  );

  it("refuses in one line a port in use by another program", async () => {
    const place = await newPlace();
    const squatter = await listen(place.port);
    try {
      const exit = await cli(place, ["report"]);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(
        `plugchat-sync: error: port ${place.port} of the embedded PostgreSQL is in use by another program: stop that program, or set PLUGCHAT_SYNC_DB_PORT to a free port\n`,
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("is never used in place of a configured DATABASE_URL that does not answer", async () => {
    const place = await newPlace();
    const exit = await runCli(
      ["report"],
      envFor(place, { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/plugchat_sync" }),
    );
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain("Cannot reach PostgreSQL at 127.0.0.1:1");
    expect(exit.stderr).not.toContain("embedded");
    await expect(stat(place.dataDir)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

function listen(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
