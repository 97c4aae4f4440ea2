import { Command } from "commander";
import { runDemo } from "../../demo/run-demo.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { printLine } from "../print.js";

export function demoCommand(): Command {
  return new Command("demo").description(descriptionOf("demo")).action(async () => {
    const { config, logger } = commandContext();
    await runDemo({
      config,
      logger,
      // Only the server is used: the demo makes its own database on it.
      serverUrl: () => commandDatabaseUrl({ migrate: false }),
      print: printLine,
    });
  });
}
