// Prisma's own schema engine (the wasm build of what `prisma migrate status` runs) must read the history
// written by our applier as its own: nothing edited, nothing failed, nothing pending.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { defaultMigrationsDir, migrate } from "../../src/db/migrations/index.js";
import { reserveTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { diagnoseMigrationHistory } from "../helpers/schema-engine.js";

const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

it("sees a database migrated by this tool as up to date", async () => {
  const database = reserveTestDatabase();
  databases.push(database);
  await migrate({ databaseUrl: database.url, migrationsDir: defaultMigrationsDir() });

  expect(await diagnoseMigrationHistory(database.url, defaultMigrationsDir())).toEqual({
    editedMigrationNames: [],
    failedMigrationNames: [],
    hasMigrationsTable: true,
    history: null,
  });
});

it("sees a migration that failed here as failed, and the ones after it as not applied", async () => {
  const dir = await mkdtemp(join(tmpdir(), "plugchat-sync-migrations-"));
  tempDirs.push(dir);
  await cp(defaultMigrationsDir(), dir, { recursive: true });
  await mkdir(join(dir, "20991231000000_broken"));
  await writeFile(join(dir, "20991231000000_broken", "migration.sql"), "SELECT 1/0;\n");
  await mkdir(join(dir, "20991231000001_after"));
  await writeFile(join(dir, "20991231000001_after", "migration.sql"), "SELECT 1;\n");
  const database = reserveTestDatabase();
  databases.push(database);

  await expect(migrate({ databaseUrl: database.url, migrationsDir: dir })).rejects.toThrow(
    "20991231000000_broken",
  );

  const diagnosis = await diagnoseMigrationHistory(database.url, dir);
  expect(diagnosis.failedMigrationNames).toEqual(["20991231000000_broken"]);
  expect(diagnosis.editedMigrationNames).toEqual([]);
  expect(diagnosis.history).toEqual({
    diagnostic: "databaseIsBehind",
    unappliedMigrationNames: ["20991231000001_after"],
  });
});
