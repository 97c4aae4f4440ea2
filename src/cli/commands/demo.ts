import { Command } from "commander";
import { runDemo } from "../../demo/run-demo.js";
import { commandContext } from "../context.js";

export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "show a real sync end to end against the built-in Plugchat simulator, in its own database plugchat_sync_demo",
    )
    .action(async () => {
      const { config, logger } = commandContext();
      await runDemo({ config, logger, print: (line) => process.stdout.write(`${line}\n`) });
    });
}
