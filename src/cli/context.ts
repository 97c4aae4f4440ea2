import { type Config, loadConfig } from "../config/index.js";
import type { DatabaseTarget } from "../db/connection-errors.js";
import { type OpenDatabase, openDatabase } from "../db/open-database.js";
import { createLogger, type Logger, logProcessWarnings } from "../logger.js";
import { tracingRequested } from "../observability/tracing/environment.js";
import { traceFields } from "../observability/tracing/spans.js";
import { closeWhenCommandEnds } from "./command-end.js";
import { printNotice } from "./print.js";

/** What every command needs: the validated config and the process's logger. Built on first use, so
 * `--help` works even when the environment is invalid. */
interface CommandContext {
  config: Readonly<Config>;
  logger: Logger;
}

let context: CommandContext | undefined;

export function commandContext(): CommandContext {
  if (!context) {
    const config = loadConfig();
    const logger = createLogger({
      level: config.logLevel,
      pretty: config.logPretty,
      // Traced, each line says which span it was written in (src/cli/tracing.ts starts the tracer).
      ...(tracingRequested() ? { mixin: traceFields } : {}),
    });
    logProcessWarnings(logger);
    context = { config, logger };
  }
  return context;
}

let database: Promise<OpenDatabase> | undefined;
let openedTarget: DatabaseTarget | undefined;

/**
 * The URL of this process's database, opened once per process (src/db/open-database.ts): DATABASE_URL,
 * or the embedded server, started if needed and migrated (unless `migrate: false`). The CLI releases
 * it when the command ends (`closeCommandContext`).
 */
export async function commandDatabaseUrl(options: { migrate?: boolean } = {}): Promise<string> {
  return (await commandDatabase(options)).url;
}

/** As `commandDatabaseUrl`, with the embedded server's session (for the `db` commands). */
export async function commandDatabase(options: { migrate?: boolean } = {}): Promise<OpenDatabase> {
  const { config, logger } = commandContext();
  database ??= openDatabase(config, {
    logger,
    migrate: options.migrate,
    // On the embedded server the queues live in the same database (no REDIS_URL): migrated alike.
    migrateMore: async (url) => {
      const { migrateQueues, queueBackendSettings } = await import("../queue/backend/index.js");
      return migrateQueues(queueBackendSettings(config, url));
    },
    onStarted: printNotice,
  });
  const opened = await database;
  openedTarget = {
    url: opened.url,
    ...(opened.embedded ? { embeddedDataDir: opened.embedded.layout.dataDir } : {}),
  };
  return opened;
}

/** The database this process opened, if any: it helps describe connection failures. */
export function openedDatabase(): DatabaseTarget | undefined {
  return openedTarget;
}

/** Ends what the command opened: leaves the embedded server (the last to leave stops it). */
async function closeCommandContext(): Promise<void> {
  const opened = database;
  database = undefined;
  if (opened) await (await opened.catch(() => undefined))?.release();
}

closeWhenCommandEnds(closeCommandContext);
