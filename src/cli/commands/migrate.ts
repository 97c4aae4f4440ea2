import { Command } from "commander";
import { defaultMigrationsDir, migrate } from "../../db/migrations/index.js";
import { migrateQueues, queueBackendSettings } from "../../queue/backend/index.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { printLine } from "../print.js";

export function migrateCommand(): Command {
  return new Command("migrate").description(descriptionOf("migrate")).action(async () => {
    const { config, logger } = commandContext();
    const databaseUrl = await commandDatabaseUrl({ migrate: false });
    const result = await migrate({
      databaseUrl,
      migrationsDir: defaultMigrationsDir(),
      logger,
    });
    const summary =
      result.applied.length === 0
        ? `database is up to date: no pending migrations (${result.alreadyApplied.length} already applied)`
        : `applied ${result.applied.length} migration(s): ${result.applied.join(", ")}`;
    printLine(`${result.databaseCreated ? "created the database; " : ""}${summary}`);
    const queues = await migrateQueues(queueBackendSettings(config, databaseUrl));
    if (queues) printLine(queues);
  });
}
