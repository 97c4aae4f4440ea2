// "The database of this process": DATABASE_URL when it is set, used as given (never replaced by the
// embedded server when it is down); otherwise the embedded server of PLUGCHAT_SYNC_DATA_DIR, started
// if needed, with the database created and migrated on first use.
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/index.js";
import { UserFacingError } from "../errors.js";
import { urlWithoutPassword } from "../lib/redact.js";
import type { Logger } from "../logger.js";
import { describeDatabaseError, isServerGone } from "./connection-errors.js";
import type { EmbeddedSession } from "./embedded/index.js";

/** The database of the embedded server that the commands use. */
export const EMBEDDED_DATABASE = "plugchat_sync";

export interface OpenDatabase {
  /** The connection URL (with the password, if any: never log it). */
  url: string;
  /** The embedded server's session; undefined when DATABASE_URL is set. */
  embedded: EmbeddedSession | undefined;
  /** Done with the database: leaves the embedded server (see joinServer). Idempotent. */
  release(): Promise<void>;
}

interface OpenDatabaseOptions {
  logger: Logger;
  /** Apply pending migrations to the embedded server's database (default true). */
  migrate?: boolean;
  /** After the embedded database's migrations: what else lives in it (the queue schema). */
  migrateMore?: (url: string) => Promise<unknown>;
  /** Told, in one line, when this process starts the embedded server. */
  onStarted?: (line: string) => void;
}

export async function openDatabase(config: Config, options: OpenDatabaseOptions): Promise<OpenDatabase> {
  if (config.databaseUrl !== undefined) {
    return { url: config.databaseUrl, embedded: undefined, release: async () => undefined };
  }
  // Loaded only here: a command on DATABASE_URL (`report`, a probe) never pays for them.
  const [{ joinServer, keepServerAlive }, { defaultMigrationsDir, migrate }] = await Promise.all([
    import("./embedded/index.js"),
    import("./migrations/index.js"),
  ]);
  for (let attempt = 1; ; attempt += 1) {
    const session = await joinServer({ dataDir: config.dataDir, port: config.embeddedPort });
    const url = session.url(EMBEDDED_DATABASE);
    try {
      if (session.started) {
        options.onStarted?.(
          `started the embedded PostgreSQL (data in ${config.dataDir}) at ${urlWithoutPassword(url)}; \`plugchat-sync db url\` prints it with the password (DATABASE_URL unset)`,
        );
      }
      if (options.migrate !== false) await migrateEmbedded(url, migrate, defaultMigrationsDir(), options);
    } catch (error) {
      await session.release();
      // A server killed or crashed after this process found it up (its postmaster.pid not yet gone):
      // the next join starts it again, as the message for a lost server promises any command does.
      if (attempt < EMBEDDED_CONNECT_ATTEMPTS && isServerGone(unwrapped(error))) {
        await sleep(RETRY_PAUSE_MS * attempt);
        continue;
      }
      throw embeddedServerError(error, url, config.dataDir) ?? error;
    }
    // While this process uses it, a server that dies is started again (a worker would wait forever).
    const keeper = keepServerAlive({ layout: session.layout, port: session.port, logger: options.logger });
    let released: Promise<void> | undefined;
    const release = () => {
      released ??= keeper.stop().then(() => session.release());
      return released;
    };
    return { url, embedded: session, release };
  }
}

/** Joins of the embedded server, each with its first connection, before a lost server is an error. */
const EMBEDDED_CONNECT_ATTEMPTS = 3;
const RETRY_PAUSE_MS = 300;

/** Applies pending migrations to the embedded database (a no-op once done): logged only when it applied one. */
async function migrateEmbedded(
  url: string,
  migrate: typeof import("./migrations/index.js")["migrate"],
  migrationsDir: string,
  options: OpenDatabaseOptions,
): Promise<void> {
  const result = await migrate({
    databaseUrl: url,
    migrationsDir,
    logger: options.logger.child({}, { level: "warn" }),
  });
  if (result.applied.length > 0) {
    options.logger.info(
      { applied: result.applied, created: result.databaseCreated },
      `migrated the embedded database ${EMBEDDED_DATABASE}: ${result.applied.length} migration(s) applied`,
    );
  }
  await options.migrateMore?.(url);
}

/** The error a migration wrapped into a message about DATABASE_URL, or `error` itself. */
function unwrapped(error: unknown): unknown {
  return error instanceof UserFacingError && error.cause !== undefined ? error.cause : error;
}

/**
 * A connection failure while migrating the embedded database, told as the embedded server's (the
 * migration names DATABASE_URL, which is unset here); undefined for any other error.
 */
function embeddedServerError(error: unknown, url: string, dataDir: string): UserFacingError | undefined {
  const original = unwrapped(error);
  const described = describeDatabaseError(original, { url, embeddedDataDir: dataDir });
  return described === original ? undefined : described;
}
