import { Command } from "commander";
import { defaultMigrationsDir, migrate } from "../../db/migrations/index.js";
import { commandContext, commandDatabaseUrl } from "../context.js";

export function migrateCommand(): Command {
  return new Command("migrate")
    .description(
      "create the database if it does not exist and apply pending migrations (offline; same result as `prisma migrate deploy`)",
    )
    .action(async () => {
      const { logger } = commandContext();
      const result = await migrate({
        databaseUrl: await commandDatabaseUrl({ migrate: false }),
        migrationsDir: defaultMigrationsDir(),
        logger,
      });
      const summary =
        result.applied.length === 0
          ? `database is up to date: no pending migrations (${result.alreadyApplied.length} already applied)`
          : `applied ${result.applied.length} migration(s): ${result.applied.join(", ")}`;
      process.stdout.write(`${result.databaseCreated ? "created the database; " : ""}${summary}\n`);
    });
}
