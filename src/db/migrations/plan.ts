// What to do, decided from the migrations folder and the `_prisma_migrations` rows alone (no I/O),
// with the rules of the schema engine's `applyMigrations` (what `prisma migrate deploy` runs).
import type { LocalMigration } from "./directory.js";
import type { FailedMigration } from "./errors.js";

/** One row of `_prisma_migrations`. */
export interface MigrationRow {
  id: string;
  checksum: string;
  migrationName: string;
  startedAt: Date;
  finishedAt: Date | null;
  rolledBackAt: Date | null;
  logs: string | null;
  appliedStepsCount: number;
}

export interface DeployPlan {
  /** To apply, in order. */
  pending: LocalMigration[];
  /** Local migrations the database already has. */
  alreadyApplied: string[];
  /** Migrations the database has but this folder does not (e.g. applied by a newer version). */
  unknownToFolder: string[];
}

/** Rows that started and neither finished nor were rolled back: they block any deploy. */
export function failedMigrations(rows: readonly MigrationRow[]): FailedMigration[] {
  return rows
    .filter((row) => row.finishedAt === null && row.rolledBackAt === null)
    .map((row) => ({ name: row.migrationName, startedAt: row.startedAt, logs: row.logs }));
}

/**
 * Pending = local migrations with no row of that name that is not rolled back. Checksums of applied
 * migrations are not compared: deploy does not either.
 */
export function planDeploy(local: readonly LocalMigration[], rows: readonly MigrationRow[]): DeployPlan {
  const applied = new Set(rows.filter((row) => row.rolledBackAt === null).map((row) => row.migrationName));
  const localNames = new Set(local.map((m) => m.name));
  return {
    pending: local.filter((m) => !applied.has(m.name)),
    alreadyApplied: local.filter((m) => applied.has(m.name)).map((m) => m.name),
    unknownToFolder: [...applied].filter((name) => !localNames.has(name)),
  };
}

/**
 * Tables that do not count when deciding whether a schema is empty: PostGIS's own (the engine ignores
 * the same names, in any case).
 */
function isIgnoredTable(name: string): boolean {
  return /^(spatial_ref_sys|geometry_columns|geography_columns|raster_columns|raster_overviews)$/i.test(name);
}

export type MigrationsTableState =
  | { kind: "present" }
  | { kind: "absent-schema-empty" }
  | { kind: "absent-schema-not-empty"; tables: string[] };

/** From the names of the schema's tables: may deploy create `_prisma_migrations`, or must it refuse (P3005)? */
export function migrationsTableState(tableNames: readonly string[]): MigrationsTableState {
  if (tableNames.includes("_prisma_migrations")) return { kind: "present" };
  const tables = tableNames.filter((name) => !isIgnoredTable(name));
  return tables.length === 0 ? { kind: "absent-schema-empty" } : { kind: "absent-schema-not-empty", tables };
}
