import { Command } from "commander";
import { simulatorCommand } from "../simulator/command.js";
import { PACKAGE_VERSION } from "../version.js";
import { accountsCommand } from "./commands/accounts.js";
import { dbCommand } from "./commands/db.js";
import { demoCommand } from "./commands/demo.js";
import { migrateCommand } from "./commands/migrate.js";
import { mismatchesCommand } from "./commands/mismatches.js";
import { reportCommand } from "./commands/report.js";
import { runsCommand } from "./commands/runs.js";
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
  program.addCommand(runsCommand());
  program.addCommand(mismatchesCommand());
  program.addCommand(dbCommand());
  program.addCommand(simulatorCommand());
  program.addCommand(demoCommand());
  throwUsageErrors(program);
  return program;
}

/**
 * Commands added with addCommand do not inherit exitOverride: without it commander exits 1 itself on a
 * bad option of a subcommand, before main can give usage errors their exit code (2, see errors.ts).
 */
function throwUsageErrors(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwUsageErrors(sub);
}
