import { Command } from "commander";
import { runDemo } from "../../demo/run-demo.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { printLine } from "../print.js";

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "show a real sync end to end against the built-in Plugchat simulator, in its own database plugchat_sync_demo (on the embedded PostgreSQL when DATABASE_URL is unset)",
    )
    .action(async () => {
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
