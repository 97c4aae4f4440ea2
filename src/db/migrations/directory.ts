import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { packageRoot } from "../../package-root.js";
import { MigrationsDirectoryError } from "./errors.js";

/** One `<name>/migration.sql` folder of the migrations directory. */
export interface LocalMigration {
  /** The folder name, e.g. `20261124000000_init`; also `_prisma_migrations.migration_name`. */
  name: string;
  script: string;
  /** What Prisma stores in `_prisma_migrations.checksum`. */
  checksum: string;
}

export interface MigrationsDirectory {
  /** The provider named by `migration_lock.toml`, or undefined when there is no such file. */
  lockProvider: string | undefined;
  /** Sorted as the Prisma CLI sorts them. */
  migrations: LocalMigration[];
  /** Folders without a `migration.sql`: not migrations, left out (the caller may warn). */
  foldersWithoutScript: string[];
}

/** `<package root>/prisma/migrations`. */
export function defaultMigrationsDir(): string {
  return join(packageRoot().dir, "prisma", "migrations");
}

/** Reads the migrations directory the way `prisma migrate deploy` lists it. Touches no database. */
export async function readMigrationsDirectory(dir: string): Promise<MigrationsDirectory> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new MigrationsDirectoryError(dir, err);
  }
  const lockContent = await readFile(join(dir, "migration_lock.toml"), "utf8").catch(() => undefined);

  // The CLI sorts folder names with localeCompare (not by code unit); same here, so the order matches.
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));

  const migrations: LocalMigration[] = [];
  const foldersWithoutScript: string[] = [];
  for (const name of folders) {
    const script = await readFile(join(dir, name, "migration.sql"), "utf8").catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw new MigrationsDirectoryError(join(dir, name, "migration.sql"), err);
      },
    );
    if (script === undefined) foldersWithoutScript.push(name);
    else migrations.push({ name, script, checksum: migrationChecksum(script) });
  }
  return {
    lockProvider: lockContent === undefined ? undefined : lockFileProvider(lockContent),
    migrations,
    foldersWithoutScript,
  };
}

/**
 * Lowercase hex SHA-256 of the script's UTF-8 bytes, as Prisma computes it. The CLI reads the file as
 * UTF-8 text and the engine hashes that text, so hashing the decoded text (not the raw bytes) also
 * agrees with Prisma for a file that is not valid UTF-8.
 */
export function migrationChecksum(script: string): string {
  return createHash("sha256").update(script, "utf8").digest("hex");
}

/**
 * The provider in `migration_lock.toml`, read exactly as the schema engine reads it: the first line that
 * starts with `provider`, without a leading `provider = ` and surrounding quotes.
 */
export function lockFileProvider(content: string): string {
  const line = content.split(/\r?\n/).find((l) => l.startsWith("provider"));
  if (line === undefined) return "<PROVIDER NOT FOUND>";
  return line.replace(/^provider = /, "").replace(/^"+|"+$/g, "");
}
