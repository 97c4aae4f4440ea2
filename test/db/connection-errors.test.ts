// Database failures a user can cause, each told in one line that names what to change: DATABASE_URL
// when it is set, the embedded server otherwise. Pure cases first, then the built CLI against the real
// PostgreSQL with each kind of broken URL.
import { describe, expect, it } from "vitest";
import { describeDatabaseError } from "../../src/db/connection-errors.js";
import { inheritedEnv, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase } from "../helpers/databases.js";

const URL = "postgresql://app:s3cret@db.example:6543/plugchat_sync";
const prismaError = (message: string, code: string, meta: Record<string, unknown> = {}) =>
  Object.assign(new Error(`\nInvalid \`prisma.syncRun.findMany()\` invocation:\n\n\n${message}`), {
    code,
    meta: { modelName: "SyncRun", ...meta },
  });

describe("describeDatabaseError names the setting to change", () => {
  it("a missing Unix socket (?host=/dir) points at the host in DATABASE_URL", () => {
    const message = describeDatabaseError(prismaError("connect ENOENT /tmp/.s.PGSQL.5432", "ENOENT"), URL);
    expect(message?.message).toBe(
      "Cannot reach PostgreSQL at db.example:6543 (no server socket at /tmp/.s.PGSQL.5432): check the host in DATABASE_URL (a ?host= that starts with / is the directory of the server's Unix socket) and that the server is running",
    );
    expect(message?.exitCode).toBe(1);
  });

  it("a certificate file that is not there is bad configuration (exit 2) naming the ssl paths", () => {
    const error = describeDatabaseError(
      prismaError("ENOENT: no such file or directory, open '/nonexistent'", "ENOENT"),
      URL,
    );
    expect(error?.message).toContain("(a file it names cannot be read: /nonexistent (no such file))");
    expect(error?.message).toContain("check the sslcert, sslkey and sslrootcert paths in DATABASE_URL");
    expect(error?.exitCode).toBe(2);
  });

  it("a missing table (a schema never migrated, or ?schema= elsewhere) says to migrate, from pg and Prisma", () => {
    const fromPrisma = prismaError(
      "The table `evil.sync_runs` does not exist in the current database.",
      "P2021",
      {
        driverAdapterError: {
          cause: { kind: "TableDoesNotExist", table: "evil.sync_runs", originalCode: "42P01" },
        },
      },
    );
    const fromPg = Object.assign(new Error('relation "evil.sync_runs" does not exist'), { code: "42P01" });
    for (const error of [fromPrisma, fromPg]) {
      const described = describeDatabaseError(error, URL);
      expect(described?.message).toBe(
        'PostgreSQL at db.example:6543/plugchat_sync has no table "evil.sync_runs": run `plugchat-sync migrate` with the same DATABASE_URL to create the tables, or fix the schema (?schema=) in DATABASE_URL',
      );
      expect(described?.exitCode).toBe(2);
    }
  });

  it("a server shut down under a command is a lost connection, not a bug", () => {
    const error = Object.assign(new Error("terminating connection due to administrator command"), {
      code: "57P01",
    });
    expect(describeDatabaseError(error, URL)?.message).toMatch(
      /^Cannot reach PostgreSQL at db\.example:6543 \(the server shut down or ended the connection\)/,
    );
  });

  it("node-postgres's own words for a lost connection, with no code, are a lost connection too", () => {
    for (const message of [
      "Client has encountered a connection error and is not queryable",
      "Client was closed and is not queryable",
      "Connection terminated",
    ]) {
      expect(describeDatabaseError(new Error(message), URL)?.message, message).toMatch(
        /^Cannot reach PostgreSQL at db\.example:6543 \(the connection was closed unexpectedly\): check DATABASE_URL/,
      );
    }
    expect(describeDatabaseError(new Error("timeout exceeded when trying to connect"), URL)?.message).toMatch(
      /\(timed out\)/,
    );
  });

  it("the embedded server is named as such, never DATABASE_URL", () => {
    const target = {
      url: "postgresql://postgres:pw@127.0.0.1:54329/plugchat_sync",
      embeddedDataDir: "/data/x",
    };
    const refused = describeDatabaseError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), target);
    expect(refused?.message).toBe(
      "Cannot reach the embedded PostgreSQL at 127.0.0.1:54329 (connection refused): it has stopped; a worker restarts it within seconds, and any command starts it again (`plugchat-sync db status` shows it; data in /data/x, DATABASE_URL unset)",
    );
    const noTable = describeDatabaseError(
      Object.assign(new Error('relation "public.accounts" does not exist'), { code: "42P01" }),
      target,
    );
    expect(noTable?.message).not.toContain("same DATABASE_URL");
    expect(noTable?.message).not.toContain("pw");
  });
});

describe("the CLI with a DATABASE_URL it cannot use", () => {
  it.each([
    ["?host=/nonexistent-dir", 1, "no server socket at /nonexistent-dir/.s.PGSQL.5432"],
    ["?sslcert=/nonexistent.crt", 2, "check the sslcert, sslkey and sslrootcert paths in DATABASE_URL"],
    ["?schema=evil", 2, "or fix the schema (?schema=) in DATABASE_URL"],
  ])(
    "DATABASE_URL ending in %s ends in one line (exit %i), never a stack trace",
    async (query, code, said) => {
      const database = await createMigratedTestDatabase();
      try {
        for (const args of [["report"], ["accounts", "list"], ["mismatches"]]) {
          const exit = await runCli(args, inheritedEnv({ DATABASE_URL: `${database.url}${query}` }));
          const lines = exit.stderr.trim().split("\n");
          expect(lines, exit.stderr).toHaveLength(1);
          expect(lines[0]).toContain(said);
          expect(lines[0]).not.toContain("unexpected error");
          expect(exit.code).toBe(code);
        }
      } finally {
        await database.drop();
      }
    },
  );
});

describe("a worker with a DATABASE_URL that can never work", () => {
  it("stops at once with the one line and exit 2 instead of waiting it out like an outage", async () => {
    const database = await createMigratedTestDatabase();
    try {
      const exit = await runCli(
        ["worker"],
        inheritedEnv({
          DATABASE_URL: `${database.url}?sslcert=/nonexistent.crt`,
          QUEUE_BACKEND: "postgres",
          PLUGCHAT_TOKEN: "test-token",
          METRICS_PORT: "0",
        }),
      );
      expect(exit.code, exit.stderr).toBe(2);
      expect(exit.stderr).toContain("check the sslcert, sslkey and sslrootcert paths in DATABASE_URL");
      expect(exit.stderr).not.toContain("retrying");
    } finally {
      await database.drop();
    }
  });
});
