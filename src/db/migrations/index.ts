// `plugchat-sync migrate`: applies prisma/migrations the way `prisma migrate deploy` does, without the
// Prisma CLI's native engine (it cannot be downloaded on every machine).
export { ensureDatabase } from "./database.js";
export {
  defaultMigrationsDir,
  type LocalMigration,
  lockFileProvider,
  type MigrationsDirectory,
  migrationChecksum,
  readMigrationsDirectory,
} from "./directory.js";
export {
  CannotCreateDatabaseError,
  type FailedMigration,
  FailedMigrationBlocksDeployError,
  MigrationFailedError,
  MigrationLockTimeoutError,
  MigrationProviderMismatchError,
  MigrationsDirectoryError,
  SchemaNotEmptyError,
} from "./errors.js";
export {
  MIGRATE_ADVISORY_LOCK,
  MIGRATIONS_TABLE_DDL,
  type MigrateOptions,
  type MigrateResult,
  migrate,
} from "./migrate.js";
export { failedMigrations, type MigrationRow, planDeploy } from "./plan.js";
