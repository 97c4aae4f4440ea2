// The tests' PostgreSQL server: the one of TEST_DATABASE_ADMIN_URL (default: local postgres, trust
// auth) when it answers; otherwise, on a machine with Node.js only, an embedded server of the tests'
// own, started here (vitest globalSetup) and handed to the test processes through
// TEST_DATABASE_ADMIN_URL. With CI=true a missing server is an error: CI must never pass on a fallback
// that hides a broken service.
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { joinServer } from "../../src/db/embedded/index.js";
import { urlWithoutPassword } from "../../src/lib/redact.js";
import { freePort } from "./free-port.js";

export const DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const configured = process.env.TEST_DATABASE_ADMIN_URL ?? DEFAULT_ADMIN_URL;
  const problem = await unreachable(configured);
  if (problem === undefined) return undefined;
  if (process.env.CI === "true") {
    throw new Error(
      `no PostgreSQL answers at ${urlWithoutPassword(configured)} (${problem}), and CI=true: start it (.ci/run does) or set TEST_DATABASE_ADMIN_URL`,
    );
  }
  // /tmp, not the work tree: under root the server runs as `postgres`, which must reach the directory.
  const dataDir = join(tmpdir(), `plugchat-sync-test-pg-${process.getuid?.() ?? "user"}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const session = await joinServer({ dataDir, port: await freePort(), command: "vitest" });
  process.env.TEST_DATABASE_ADMIN_URL = session.url("postgres");
  process.stdout.write(
    `no PostgreSQL at ${urlWithoutPassword(configured)} (${problem}): the tests use an embedded one at ${urlWithoutPassword(session.url("postgres"))}, data in ${dataDir}\n`,
  );
  return () => session.release();
}

async function unreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}
