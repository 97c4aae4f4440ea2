import { Command } from "commander";
import { simulatorCommand } from "../simulator/command.js";
import { PACKAGE_VERSION } from "../version.js";
import { accountsCommand } from "./commands/accounts.js";
import { dbCommand } from "./commands/db.js";
import { demoCommand } from "./commands/demo.js";
import { migrateCommand } from "./commands/migrate.js";
import { reportCommand } from "./commands/report.js";
import { syncCommand } from "./commands/sync.js";
import { triggerCommand } from "./commands/trigger.js";
import { workerCommand } from "./commands/worker.js";

export function buildProgram(): Command {
  const program = new Command("plugchat-sync")
    .description("Keep a PostgreSQL copy of your Plugchat integrator accounts and record what drifts.")
    .version(PACKAGE_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  program.addCommand(migrateCommand());
  program.addCommand(accountsCommand());
  program.addCommand(syncCommand());
  program.addCommand(workerCommand());
  program.addCommand(triggerCommand());
  program.addCommand(reportCommand());
  program.addCommand(dbCommand());
  program.addCommand(simulatorCommand());
  program.addCommand(demoCommand());
  return program;
}
