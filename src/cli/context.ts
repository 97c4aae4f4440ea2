import { type Config, loadConfig } from "../config/index.js";
import { createLogger, type Logger } from "../logger.js";

/** What every command needs: the validated config and the process's logger. Built on first use, so
 * `--help` works even when the environment is invalid. */
export interface CommandContext {
  config: Readonly<Config>;
  logger: Logger;
}

let context: CommandContext | undefined;

export function commandContext(): CommandContext {
  if (!context) {
    const config = loadConfig();
    context = { config, logger: createLogger({ level: config.logLevel, pretty: config.logPretty }) };
  }
  return context;
}
