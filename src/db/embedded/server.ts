// Starting, finding and stopping the one server of a data directory. Callers hold the lock (lock.ts):
// these functions assume no other process starts or stops the same server meanwhile.
import { randomBytes } from "node:crypto";
import {
  chmod,
  chown,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { truncate } from "../../lib/text.js";
import { type ServerBinaries, serverBinaries } from "./binaries.js";
import {
  diskFull,
  fileSystemError,
  notADataDirectory,
  otherMajorVersion,
  portInUse,
  toolFailed,
  unreachableByServerUser,
} from "./errors.js";
import type { Layout } from "./layout.js";
import { isAlive } from "./processes.js";
import { runTool, type ServerUser, serverUser } from "./run.js";

/** The superuser of the embedded server. */
export const SERVER_ROLE = "postgres";

interface RunningServer {
  pid: number;
  port: number;
}

/**
 * The running server of `layout`, read from its postmaster.pid (pid, port, and "ready" once it accepts
 * connections); undefined when it is not running, including when the file was left by a server that
 * died (its pid is gone).
 */
export async function runningServer(layout: Layout): Promise<RunningServer | undefined> {
  const text = await readFile(join(layout.pgdata, "postmaster.pid"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!isAlive(pid) || !(await isPostgres(pid))) return undefined;
  if (lines[7]?.trim() !== "ready") return undefined;
  return { pid, port };
}

// After a reboot, the pid of a dead server's postmaster.pid may belong to another program: PostgreSQL
// would then refuse to start. Where /proc tells, such a pid is not the server's.
async function isPostgres(pid: number): Promise<boolean> {
  if (process.platform !== "linux") return true;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  return cmdline === undefined || cmdline.includes("postgres");
}

interface StartResult extends RunningServer {
  /** This process started it (else it was running already). */
  started: boolean;
  /** This process created the data directory. */
  created: boolean;
}

/** Creates the data directory if needed and starts the server unless it runs already. */
export async function ensureServer(layout: Layout, port: number): Promise<StartResult> {
  const running = await runningServer(layout);
  if (running) return { ...running, started: false, created: false };
  const binaries = await serverBinaries();
  const user = await serverUser();
  const created = await ensureInitialised(layout, binaries, user);
  await clearStalePidFile(layout);
  return { ...(await start(layout, port, binaries, user)), started: true, created };
}

/** Stops the server (fast: sessions still open are ended, their transactions rolled back). */
export async function stopServer(layout: Layout): Promise<boolean> {
  if (!(await runningServer(layout))) return false;
  const { pgCtl } = await serverBinaries();
  const result = await runTool(
    pgCtl,
    ["stop", "-D", layout.pgdata, "-m", "fast", "-w", "-t", "60", "-s"],
    await serverUser(),
  );
  if (result.code !== 0 && (await runningServer(layout))) {
    throw toolFailed("stop", lastLine(result.output), layout.log);
  }
  return true;
}

/** The password of the server's superuser, made when the data directory is created. */
export async function readPassword(layout: Layout): Promise<string | undefined> {
  const text = await readFile(layout.password, "utf8").catch(() => undefined);
  return text?.trim();
}

async function ensureInitialised(
  layout: Layout,
  binaries: ServerBinaries,
  user: ServerUser,
): Promise<boolean> {
  await prepareDataDir(layout, user);
  const version = await readFile(join(layout.pgdata, "PG_VERSION"), "utf8").catch(() => undefined);
  if (version !== undefined) {
    if (Number(version.trim()) !== binaries.major)
      throw otherMajorVersion(layout.pgdata, version.trim(), binaries.major);
    return false;
  }
  const existing = await readdir(layout.pgdata).catch(() => undefined);
  if (existing !== undefined && existing.length > 0) throw notADataDirectory(layout.pgdata);
  await initialise(layout, binaries, user);
  return true;
}

/**
 * The data directory, made reachable by the server user: under root the server runs as `postgres`,
 * which must be able to enter every directory above its own.
 */
async function prepareDataDir(layout: Layout, user: ServerUser): Promise<void> {
  try {
    await mkdir(layout.dataDir, { recursive: true, mode: user.ids ? 0o711 : 0o700 });
    if (user.ids) {
      // The directory is plugchat-sync's own (mkdtemp and umask 077 make 0700): let the server through.
      const own = await stat(layout.dataDir);
      if ((own.mode & 0o001) === 0) await chmod(layout.dataDir, (own.mode & 0o777) | 0o011);
      await checkReachable(dirname(layout.dataDir), user);
    }
  } catch (error) {
    throw fileSystemError(error, layout.dataDir) ?? error;
  }
}

async function checkReachable(dir: string, user: ServerUser): Promise<void> {
  const ids = user.ids;
  if (!ids) return;
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    const bit = info.uid === ids.uid ? 0o100 : info.gid === ids.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) throw unreachableByServerUser(current, info.mode & 0o7777, user.name);
    if (dirname(current) === current) return;
  }
}

/**
 * initdb into a directory of its own, renamed into place when complete: a process killed halfway
 * leaves a directory that the next start removes, never a half-made PGDATA.
 */
async function initialise(layout: Layout, binaries: ServerBinaries, user: ServerUser): Promise<void> {
  for (const name of await readdir(layout.dataDir)) {
    if (name.startsWith("pg.init-")) await rm(join(layout.dataDir, name), { recursive: true, force: true });
  }
  const staging = join(layout.dataDir, `pg.init-${process.pid}`);
  const password = randomBytes(18).toString("base64url");
  const passwordFile = join(layout.dataDir, `initdb-password-${process.pid}`);
  try {
    await writeFile(layout.password, `${password}\n`, { mode: 0o600 });
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await mkdir(staging, { mode: 0o700 });
    if (user.ids) {
      await chown(passwordFile, user.ids.uid, user.ids.gid);
      await chown(staging, user.ids.uid, user.ids.gid);
    }
    const result = await runTool(
      binaries.initdb,
      [
        `--pgdata=${staging}`,
        `--username=${SERVER_ROLE}`,
        `--pwfile=${passwordFile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--no-locale",
      ],
      user,
    );
    if (result.code !== 0) {
      if (/No space left on device/i.test(result.output)) throw diskFull(layout.dataDir);
      throw toolFailed("initdb", lastLine(result.output), layout.dataDir);
    }
    // Loopback only, and TCP only: no socket file in /tmp or /var/run to collide with other servers.
    await appendConfig(
      join(staging, "postgresql.conf"),
      "\n# plugchat-sync's embedded server\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n",
    );
    await rename(staging, layout.pgdata);
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw fileSystemError(error, layout.dataDir) ?? error;
  } finally {
    await unlink(passwordFile).catch(() => undefined);
  }
}

async function appendConfig(path: string, text: string): Promise<void> {
  const handle = await open(path, "a");
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * A postmaster.pid whose pid is now another program's (after a reboot) makes PostgreSQL refuse to
 * start: remove it. One whose pid is gone is left to PostgreSQL, which removes it itself and recovers
 * from its write-ahead log, so that nothing committed is lost.
 */
async function clearStalePidFile(layout: Layout): Promise<void> {
  const file = join(layout.pgdata, "postmaster.pid");
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return;
  const pid = Number(text.split("\n")[0]);
  if (isAlive(pid) && !(await isPostgres(pid))) await unlink(file).catch(() => undefined);
}

async function start(
  layout: Layout,
  port: number,
  binaries: ServerBinaries,
  user: ServerUser,
): Promise<RunningServer> {
  for (let attempt = 1; ; attempt += 1) {
    if (!(await portIsFree(port))) throw portInUse(port);
    const logStart = await stat(layout.log).then(
      (info) => info.size,
      () => 0,
    );
    const result = await runTool(
      binaries.pgCtl,
      ["start", "-D", layout.pgdata, "-l", layout.log, "-w", "-t", "60", "-s", "-o", `-p ${port}`],
      user,
    );
    const running = await runningServer(layout);
    if (result.code === 0 && running) return running;
    const log = await readFrom(layout.log, logStart);
    const said = `${result.output}\n${log}`;
    if (/could not bind|Address already in use/i.test(said)) throw portInUse(port);
    if (/No space left on device/i.test(said)) throw diskFull(layout.dataDir);
    // The postmaster of a killed server takes a moment to be gone; its children hold on to its lock.
    if (
      /lock file "postmaster.pid" already exists|pre-existing shared memory block/.test(said) &&
      attempt < 20
    ) {
      await sleep(250);
      continue;
    }
    throw toolFailed("server start", lastLine(firstFatal(log) ?? said), layout.log);
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function readFrom(path: string, offset: number): Promise<string> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return "";
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, Math.min(size - offset, 64 * 1024));
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

function firstFatal(log: string): string | undefined {
  return log.split("\n").find((line) => /\b(FATAL|PANIC):/.test(line));
}

function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return truncate(lines[lines.length - 1] ?? "no output", 300);
}
