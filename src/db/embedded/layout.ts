import { join } from "node:path";

/**
 * The files of a data directory (PLUGCHAT_SYNC_DATA_DIR). The server's own directory is a child, so
 * that under root it can belong to the server user while the rest stays this user's.
 */
export interface Layout {
  dataDir: string;
  /** PostgreSQL's data directory (PGDATA). */
  pgdata: string;
  /** The server's log, inside pgdata since the server user writes it. */
  log: string;
  /** The password of the server's `postgres` user (mode 0600). */
  password: string;
  /** Held while a process starts or stops the server, or changes the leases (see lock.ts). */
  lock: string;
  /** One file per live process using the server (see leases.ts). */
  leases: string;
  /** Present while `db start` keeps the server up. */
  pinned: string;
}

export function layoutOf(dataDir: string): Layout {
  const pgdata = join(dataDir, "pg");
  return {
    dataDir,
    pgdata,
    log: join(pgdata, "server.log"),
    password: join(dataDir, "password"),
    lock: join(dataDir, "server.lock"),
    leases: join(dataDir, "leases"),
    pinned: join(dataDir, "pinned"),
  };
}
