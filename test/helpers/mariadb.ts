// Throwaway MariaDB (or MySQL) databases for tests, named plugchat_sync_test_<random>, on the server
// of TEST_MARIADB_URL (default: the machine's MariaDB, root with an empty password).
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";

export const MARIADB_ADMIN_URL = process.env.TEST_MARIADB_URL ?? "mysql://root@127.0.0.1:3306";

export interface MariadbTestDatabase {
  url: string;
  name: string;
  /** Runs statements on the database, on a connection of its own. */
  query(sql: string, values?: unknown[]): Promise<void>;
  drop(): Promise<void>;
}

/** Whether the server answers; tests that need it are skipped (or, under CI=true, fail) when not. */
export async function mariadbReachable(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL, connectTimeout: 2_000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

export async function createMariadbTestDatabase(): Promise<MariadbTestDatabase> {
  const name = `plugchat_sync_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(`CREATE DATABASE \`${name}\``);
  const url = new URL(MARIADB_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    query: async (sql, values = []) => {
      const connection = await mysql.createConnection({ uri: url.toString() });
      try {
        await connection.query(sql, values);
      } finally {
        await connection.end();
      }
    },
    drop: () => adminQuery(`DROP DATABASE IF EXISTS \`${name}\``),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}
