import { Command } from "commander";
import { showControls } from "../lib/terminal-text.js";
import { truncate } from "../lib/text.js";
import { simulatorCommand } from "../simulator/command.js";
import { PACKAGE_VERSION } from "../version.js";
import { accountsCommand } from "./commands/accounts.js";
import { dbCommand } from "./commands/db.js";
import { demoCommand } from "./commands/demo.js";
import { migrateCommand } from "./commands/migrate.js";
import { mismatchesCommand } from "./commands/mismatches.js";
import { pruneCommand } from "./commands/prune.js";
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
  program.addCommand(pruneCommand());
  program.addCommand(dbCommand());
  program.addCommand(simulatorCommand());
  program.addCommand(demoCommand());
  configureUsageErrors(program);
  return program;
}

/**
 * Commands added with addCommand inherit neither exitOverride nor the output settings. Without
 * exitOverride commander exits 1 itself on a bad option of a subcommand, before main can give usage
 * errors their exit code (2, see errors.ts). Commander prints its own error lines, quoting the value
 * it refused: they are cut and their control characters shown, as every other message is.
 */
function configureUsageErrors(command: Command): void {
  command.exitOverride().configureOutput({ outputError: (text, write) => write(usageErrorText(text)) });
  for (const sub of command.commands) configureUsageErrors(sub);
}

/** A value commander quotes ('…'), when long: a whole file pasted by mistake, say. */
const LONG_QUOTED_VALUE = /'([^'\n]{81,})'/g;
/** For a value holding a quote itself, which the pattern cannot tell from the text around it. */
const MAX_LINE = 600;

/** Commander's error text with each long value it quotes cut, each line at most MAX_LINE characters. */
function usageErrorText(text: string): string {
  const lines = text.split("\n").map((line) => {
    const cut = line.replace(LONG_QUOTED_VALUE, (_, value: string) => `'${truncate(value, 80)}'`);
    return truncate(cut, MAX_LINE);
  });
  return showControls(lines.join("\n"));
}
