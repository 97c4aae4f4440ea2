// `plugchat-sync migrate`: applies prisma/migrations the way `prisma migrate deploy` does, without the
// Prisma CLI's native engine (it cannot be downloaded on every machine).
export {
  defaultMigrationsDir,
  lockFileProvider,
  migrationChecksum,
  readMigrationsDirectory,
} from "./directory.js";
export {
  FailedMigrationBlocksDeployError,
  MigrationFailedError,
  MigrationProviderMismatchError,
  SchemaNotEmptyError,
} from "./errors.js";
export { migrate } from "./migrate.js";
export { failedMigrations, type MigrationRow, planDeploy } from "./plan.js";
