// A PostgreSQL server and a Redis server of the fault suite's own, on free loopback ports, so that
// scenarios can restart them (the machine's shared ones serve other tests). Both are real servers
// started from the installed binaries; both are stopped in afterAll, or at the latest when the test
// process exits.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { serverBinaries } from "../../src/db/embedded/binaries.js";
import { freePort } from "../helpers/free-port.js";
import { waitFor } from "../queue/helpers.js";

const run = promisify(execFile);

const cleanups = new Set<() => void>();
process.once("exit", () => {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // the process is exiting: best effort
    }
  }
});

/**
 * The directory of PostgreSQL's server binaries (initdb, pg_ctl): PG_BIN_DIR, PATH, Debian's, or
 * else the embedded PostgreSQL's from npm, so that the suite needs no PostgreSQL server package.
 */
async function postgresBinDir(): Promise<string> {
  const candidates: string[] = [];
  if (process.env.PG_BIN_DIR) candidates.push(process.env.PG_BIN_DIR);
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir) candidates.push(dir);
  if (existsSync("/usr/lib/postgresql")) {
    const versions = readdirSync("/usr/lib/postgresql")
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  }
  const embedded = await serverBinaries().catch(() => undefined);
  if (embedded) candidates.push(dirname(embedded.pgCtl));
  const found = candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
  if (!found) {
    throw new Error(
      "initdb and pg_ctl not found (PG_BIN_DIR, PATH, /usr/lib/postgresql/*/bin, the embedded PostgreSQL): run npm ci, install the PostgreSQL server or set PG_BIN_DIR",
    );
  }
  return found;
}

export interface PrivatePostgres {
  readonly port: number;
  /** A URL for a database of this server (user postgres, trust auth). */
  url(database: string): string;
  /**
   * `pg_ctl stop -m fast` (every session ended, open transactions rolled back), `downMs` without a
   * server, then `pg_ctl start` again with the same data.
   */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
  /** The server's log so far. */
  log(): string;
}

/**
 * A new PostgreSQL cluster in a temporary directory (initdb, trust auth), started on a free port.
 * PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "plugchat-sync-pg-"));
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const pgCommand = (command: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(bin, command), ...args])
      : run(join(bin, command), args);
  const port = await freePort();
  // Durability settings stay on: a restart must lose nothing that was committed.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;

  await pgCommand("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  const ctl = (args: string[]) => pgCommand("pg_ctl", ["-D", data, "-l", logFile, "-w", "-t", "60", ...args]);
  await ctl(["-o", serverOptions, "start"]);

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    const args = [join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"];
    try {
      if (asRoot) execFileSync("runuser", ["-u", "postgres", "--", ...args], { stdio: "ignore" });
      else execFileSync(args[0] as string, args.slice(1), { stdio: "ignore" });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(stopNow);

  return {
    port,
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    restart: async (options = {}) => {
      await ctl(["-m", "fast", "stop"]);
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await ctl(["-o", serverOptions, "start"]);
    },
    stop: async () => {
      if (stopped) return;
      await ctl(["-m", "fast", "stop"]).catch(() => undefined);
      stopNow();
      cleanups.delete(stopNow);
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
  };
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /**
   * Stops the server (SIGTERM: with AOF on, it writes everything it holds first) and starts it again
   * on the same port; with `loseData`, its files are deleted in between, as when a Redis without
   * persistence restarts, or a replacement comes up empty.
   */
  restart(options?: { loseData?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
  /** The server's output so far, every start included. */
  log(): string;
}

/** A redis-server child process on a free port, with AOF persistence (appendfsync always) in a temp dir. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), "plugchat-sync-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let output = "";
  let server: ChildProcess | undefined;

  async function start(): Promise<void> {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--maxmemory-policy",
        "noeviction",
        "--daemonize",
        "no",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    server = child;
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", (error) => {
      output += `\nredis-server could not start: ${error.message}\n`;
    });
    await waitFor(
      `redis-server on port ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${output}`);
        const probe = new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on("error", () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === "PONG";
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      50,
    );
  }

  async function stopServer(signal: NodeJS.Signals): Promise<void> {
    const child = server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  const stopNow = () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(stopNow);
  await start();

  return {
    port,
    url,
    restart: async (options = {}) => {
      await stopServer("SIGTERM");
      if (options.loseData) {
        for (const file of readdirSync(dir)) rmSync(join(dir, file), { recursive: true, force: true });
      }
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await start();
    },
    stop: async () => {
      await stopServer("SIGTERM");
      stopNow();
      cleanups.delete(stopNow);
    },
    log: () => output,
  };
}
