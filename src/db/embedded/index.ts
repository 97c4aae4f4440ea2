// The embedded PostgreSQL server of a data directory, shared by every command that uses it at the
// same time: each joins it (starting it if it is not running) and leaves it; the last to leave stops
// it, unless `db start` pinned it. Starts, stops and the leases change under the directory's lock.
import { existsSync } from "node:fs";
import { mkdir, unlink, writeFile } from "node:fs/promises";
import { fileSystemError } from "./errors.js";
import { type Layout, layoutOf } from "./layout.js";
import { addLease, type Lease, liveLeases, removeLease } from "./leases.js";
import { withLock } from "./lock.js";
import { ensureServer, readPassword, runningServer, SERVER_ROLE, stopServer } from "./server.js";

export { keepServerAlive } from "./keep-alive.js";
export { type Layout, layoutOf } from "./layout.js";

interface EmbeddedServerOptions {
  dataDir: string;
  /** The port to start it on; a server already running keeps the port it has. */
  port: number;
  /** What this process is, for `db status` (its command line). */
  command?: string;
}

export interface EmbeddedSession {
  layout: Layout;
  port: number;
  /** This process started the server. */
  started: boolean;
  /** This process created the data directory. */
  created: boolean;
  /** The URL of `database` on this server, with the password (never log it: see `urlWithoutPassword` in src/lib/redact.ts). */
  url(database: string): string;
  /** Leaves the server: stopped if no other live process uses it and it is not pinned. Idempotent. */
  release(): Promise<void>;
}

/** Joins the server of `options.dataDir`, creating the data directory and starting it as needed. */
export async function joinServer(options: EmbeddedServerOptions): Promise<EmbeddedSession> {
  const layout = layoutOf(options.dataDir);
  const command = options.command ?? process.argv.slice(1).join(" ");
  const result = await guarded(layout, async () => {
    await mkdir(layout.dataDir, { recursive: true, mode: process.getuid?.() === 0 ? 0o711 : 0o700 });
    return withLock(layout.lock, async () => {
      await addLease(layout.leases, command);
      try {
        return await ensureServer(layout, options.port);
      } catch (error) {
        await removeLease(layout.leases);
        throw error;
      }
    });
  });
  const password = (await readPassword(layout)) ?? "";
  let released: Promise<void> | undefined;
  return {
    layout,
    port: result.port,
    started: result.started,
    created: result.created,
    url: (database) => serverUrl(result.port, password, database),
    release: () => {
      released ??= leave(layout);
      return released;
    },
  };
}

async function leave(layout: Layout): Promise<void> {
  await withLock(layout.lock, async () => {
    await removeLease(layout.leases);
    if ((await liveLeases(layout.leases)).length === 0 && !existsSync(layout.pinned))
      await stopServer(layout);
  });
}

/** `db start`: the server stays up when the last command leaves, until `unpinServer`. */
export async function pinServer(layout: Layout): Promise<void> {
  await guarded(layout, () => writeFile(layout.pinned, `${new Date().toISOString()}\n`));
}

interface UnpinResult {
  stopped: boolean;
  /** The live processes that still use it (then it stops when the last of them leaves). */
  users: Lease[];
}

/** `db stop`: unpins the server, and stops it unless live commands still use it. */
export async function unpinServer(layout: Layout): Promise<UnpinResult> {
  if (!existsSync(layout.dataDir)) return { stopped: false, users: [] };
  return withLock(layout.lock, async () => {
    await unlink(layout.pinned).catch(() => undefined);
    const users = (await liveLeases(layout.leases)).filter((lease) => lease.pid !== process.pid);
    if (users.length > 0) return { stopped: false, users };
    return { stopped: await stopServer(layout), users };
  });
}

export interface ServerStatus {
  layout: Layout;
  initialised: boolean;
  running: { pid: number; port: number } | undefined;
  pinned: boolean;
  users: Lease[];
  /** The URL of `database` when running, with the password. */
  url(database: string): string | undefined;
}

/** What `db status` reports; changes nothing except removing the leases of dead processes. */
export async function serverStatus(dataDir: string): Promise<ServerStatus> {
  const layout = layoutOf(dataDir);
  const running = await runningServer(layout);
  const password = (await readPassword(layout)) ?? "";
  return {
    layout,
    initialised: existsSync(`${layout.pgdata}/PG_VERSION`),
    running,
    pinned: existsSync(layout.pinned),
    users: (await liveLeases(layout.leases)).filter((lease) => lease.pid !== process.pid),
    url: (database) => (running ? serverUrl(running.port, password, database) : undefined),
  };
}

function serverUrl(port: number, password: string, database: string): string {
  const url = new URL(`postgresql://127.0.0.1:${port}/`);
  url.username = SERVER_ROLE;
  url.password = password;
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

async function guarded<T>(layout: Layout, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw fileSystemError(error, layout.dataDir) ?? error;
  }
}
