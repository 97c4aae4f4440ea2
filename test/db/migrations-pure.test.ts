// The parts of migrate that need no database: reading the folder, deciding what to apply, wording errors.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeDatabaseError } from "../../src/db/connection-errors.js";
import { describeScriptFailure } from "../../src/db/migrations/errors.js";
import {
  defaultMigrationsDir,
  failedMigrations,
  lockFileProvider,
  type MigrationRow,
  migrationChecksum,
  planDeploy,
  readMigrationsDirectory,
} from "../../src/db/migrations/index.js";
import { migrationsTableState } from "../../src/db/migrations/plan.js";

function row(name: string, state: "applied" | "failed" | "rolled back"): MigrationRow {
  const at = new Date("2026-11-24T00:00:00Z");
  return {
    id: `id-${name}`,
    checksum: "x",
    migrationName: name,
    startedAt: at,
    finishedAt: state === "applied" ? at : null,
    rolledBackAt: state === "rolled back" ? at : null,
    logs: state === "applied" ? null : "boom",
    appliedStepsCount: state === "applied" ? 1 : 0,
  };
}

const local = (...names: string[]) => names.map((name) => ({ name, script: "", checksum: "" }));

describe("the migrations folder", () => {
  it("is found from the package root, wherever the code runs from", async () => {
    const dir = defaultMigrationsDir();
    expect(existsSync(join(dir, "migration_lock.toml"))).toBe(true);
    const folder = await readMigrationsDirectory(dir);
    expect(folder.lockProvider).toBe("postgresql");
    expect(folder.migrations.map((m) => m.name)).toEqual(folder.migrations.map((m) => m.name).sort());
    expect(folder.migrations[0]?.name).toBe("20261124000000_init");
  });

  it("reads the lock file's provider as the schema engine does", () => {
    expect(lockFileProvider('# Please do not edit\nprovider = "postgresql"\n')).toBe("postgresql");
    expect(lockFileProvider('provider = "sqlite"\r\n')).toBe("sqlite");
    expect(lockFileProvider("# nothing here\n")).toBe("<PROVIDER NOT FOUND>");
  });

  it("checksums a script as lowercase hex SHA-256 of its UTF-8 bytes", () => {
    expect(migrationChecksum("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(migrationChecksum("é")).toBe(
      createHash("sha256")
        .update(Buffer.from([0xc3, 0xa9]))
        .digest("hex"),
    );
  });
});

describe("the deploy plan", () => {
  it("applies the local migrations that have no row, or only rolled-back rows, in folder order", () => {
    const plan = planDeploy(local("1_a", "2_b", "3_c", "4_d"), [
      row("1_a", "applied"),
      row("3_c", "rolled back"),
      row("9_newer", "applied"),
    ]);
    expect(plan.pending.map((m) => m.name)).toEqual(["2_b", "3_c", "4_d"]);
    expect(plan.alreadyApplied).toEqual(["1_a"]);
    expect(plan.unknownToFolder).toEqual(["9_newer"]);
  });

  it("finds the failed migrations: started, neither finished nor rolled back", () => {
    const rows = [row("1_a", "applied"), row("2_b", "rolled back"), row("2_b", "failed")];
    expect(failedMigrations(rows).map((m) => m.name)).toEqual(["2_b"]);
    expect(failedMigrations([row("1_a", "applied"), row("2_b", "rolled back")])).toEqual([]);
  });

  it("creates _prisma_migrations only in a schema without other tables (PostGIS's own do not count)", () => {
    expect(migrationsTableState(["accounts", "_prisma_migrations"])).toEqual({ kind: "present" });
    expect(migrationsTableState([])).toEqual({ kind: "absent-schema-empty" });
    expect(migrationsTableState(["spatial_ref_sys"])).toEqual({ kind: "absent-schema-empty" });
    expect(migrationsTableState(["legacy", "spatial_ref_sys"])).toEqual({
      kind: "absent-schema-not-empty",
      tables: ["legacy"],
    });
  });
});

describe("a failed script", () => {
  it("is located by line and laid out for _prisma_migrations.logs", () => {
    const script = "-- comment\nCREATE TABLE a (id int);\nCREATE TABLE b (id nope);\n";
    const error = Object.assign(new Error('type "nope" does not exist'), {
      severity: "ERROR",
      code: "42704",
      position: String(script.indexOf("nope") + 1),
    });
    const failure = describeScriptFailure("1_x", script, error);
    expect(failure).toMatchObject({
      fromDatabase: true,
      code: "42704",
      summary: 'ERROR 42704: type "nope" does not exist',
      line: 3,
    });
    expect(failure.logs).toContain("Migration name: 1_x\n\nDatabase error code: 42704\n\nDatabase error:\n");
    expect(failure.logs).toContain("  3 CREATE TABLE b (id nope);");
  });
});

describe("describeDatabaseError", () => {
  const URL = "postgresql://app:s3cret@db.example:6543/plugchat_sync";
  const describe_ = (err: unknown) => describeDatabaseError(err, URL)?.message;

  it("names the server and database, never the password", () => {
    const messages = [
      describe_(Object.assign(new Error("getaddrinfo ENOTFOUND db.example"), { code: "ENOTFOUND" })),
      describe_(Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" })),
      describe_(Object.assign(new Error('password authentication failed for user "app"'), { code: "28P01" })),
      describe_(Object.assign(new Error('database "plugchat_sync" does not exist'), { code: "3D000" })),
    ];
    expect(messages).toEqual([
      "Cannot reach PostgreSQL at db.example:6543 (host name not found): check the host in DATABASE_URL",
      "Cannot reach PostgreSQL at db.example:6543 (timed out): check DATABASE_URL, that the server is running and that no firewall drops the connection",
      'PostgreSQL at db.example:6543/plugchat_sync refused the login (password authentication failed for user "app"): check the user and password in DATABASE_URL and the server\'s pg_hba.conf',
      'PostgreSQL at db.example:6543 has no database "plugchat_sync": run `plugchat-sync migrate` to create it, or fix the database name in DATABASE_URL',
    ]);
    for (const message of messages) expect(message).not.toContain("s3cret");
  });

  it("understands the errors Prisma Client throws through the pg adapter", () => {
    const prismaError = Object.assign(new Error("Can't reach database server at db.example:6543"), {
      code: "P1001",
      meta: {
        driverAdapterError: { cause: { kind: "DatabaseNotReachable", host: "db.example", port: 6543 } },
      },
    });
    expect(describe_(prismaError)).toMatch(/^Cannot reach PostgreSQL at db\.example:6543 \(not reachable\)/);
  });

  it("leaves other errors alone", () => {
    expect(describe_(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBeUndefined();
    expect(describe_(new Error("boom"))).toBeUndefined();
    expect(describe_("boom")).toBeUndefined();
  });

  it("falls back to a neutral phrase for a URL it cannot parse", () => {
    const message = describeDatabaseError(
      Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
      "not a url s3cret",
    )?.message;
    expect(message).toBe(
      "Cannot reach PostgreSQL at the server in DATABASE_URL (connection refused): check DATABASE_URL and that the server is running",
    );
  });
});
