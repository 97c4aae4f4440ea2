// `plugchat-sync db`: the embedded PostgreSQL that the commands use when DATABASE_URL is unset.
import { Command } from "commander";
import type { Config } from "../../config/index.js";
import {
  layoutOf,
  pinServer,
  type ServerStatus,
  serverStatus,
  unpinServer,
} from "../../db/embedded/index.js";
import { EMBEDDED_DATABASE } from "../../db/open-database.js";
import { ExitCode, UserFacingError } from "../../errors.js";
import { urlWithoutPassword } from "../../lib/redact.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabase } from "../context.js";
import { printJson, printLine, printNotice } from "../print.js";

export function dbCommand(): Command {
  const db = new Command("db").description(descriptionOf("db"));
  db.command("url")
    .description("print the connection string of the database (with its password), for psql or a BI tool")
    .option(
      "--database <name>",
      `a database of the server other than ${EMBEDDED_DATABASE}, such as plugchat_sync_demo`,
    )
    .action(printUrl);
  db.command("start")
    .description("start the embedded PostgreSQL and keep it up, for reporting, until `plugchat-sync db stop`")
    .action(startServer);
  db.command("stop")
    .description("let the embedded PostgreSQL stop: now, or when the last command using it ends")
    .action(stopServer);
  db.command("status")
    .description("whether the embedded PostgreSQL runs, where its data is, on which port, and who uses it")
    .option("--json", "print JSON")
    .action(printStatus);
  return db;
}

async function printUrl(options: { database?: string }): Promise<void> {
  const { config } = commandContext();
  const opened = await commandDatabase();
  const url = new URL(opened.url);
  if (options.database !== undefined) url.pathname = `/${encodeURIComponent(options.database)}`;
  printLine(url.toString());
  if (opened.embedded?.started) {
    printNotice(
      `note: the embedded PostgreSQL (data in ${config.dataDir}) stops as this command ends, since no other command uses it: run \`plugchat-sync db start\` to keep it up for psql`,
    );
  }
}

async function startServer(): Promise<void> {
  const { config } = commandContext();
  embeddedOnly(config, "start");
  const opened = await commandDatabase();
  if (!opened.embedded) return;
  await pinServer(opened.embedded.layout);
  printLine(
    `the embedded PostgreSQL runs at ${urlWithoutPassword(opened.url)} (data in ${config.dataDir}) until \`plugchat-sync db stop\`; \`plugchat-sync db url\` prints the URL with its password`,
  );
}

async function stopServer(): Promise<void> {
  const { config } = commandContext();
  embeddedOnly(config, "stop");
  const result = await unpinServer(layoutOf(config.dataDir));
  if (result.users.length > 0) {
    printLine(
      `the embedded PostgreSQL stays up while ${result.users.length} command(s) use it (${describeUsers(result.users)}): it stops when the last one ends`,
    );
  } else {
    printLine(
      result.stopped
        ? `stopped the embedded PostgreSQL (data in ${config.dataDir})`
        : `the embedded PostgreSQL was not running (data in ${config.dataDir})`,
    );
  }
}

async function printStatus(options: { json?: boolean }): Promise<void> {
  const { config } = commandContext();
  if (config.databaseUrl !== undefined) {
    const databaseUrl = urlWithoutPassword(config.databaseUrl);
    if (options.json) printJson({ embedded: false, databaseUrl });
    else printLine(`DATABASE_URL is set: the commands use ${databaseUrl}, not the embedded PostgreSQL`);
    return;
  }
  const status = await serverStatus(config.dataDir);
  if (options.json) printJson(statusJson(status, config));
  else printLine(statusLines(status, config).join("\n"));
}

function statusJson(status: ServerStatus, config: Config): object {
  const url = status.url(EMBEDDED_DATABASE);
  return {
    embedded: true,
    running: status.running !== undefined,
    pid: status.running?.pid ?? null,
    port: status.running?.port ?? config.embeddedPort,
    dataDir: config.dataDir,
    initialised: status.initialised,
    url: url === undefined ? null : urlWithoutPassword(url),
    keptUp: status.pinned,
    usedBy: status.users,
  };
}

function statusLines(status: ServerStatus, config: Config): string[] {
  const lines = status.running
    ? [
        `embedded PostgreSQL: running (pid ${status.running.pid}) on 127.0.0.1 port ${status.running.port}`,
        `url: ${urlWithoutPassword(status.url(EMBEDDED_DATABASE) ?? "")} (with its password: plugchat-sync db url)`,
      ]
    : [`embedded PostgreSQL: not running (it starts on port ${config.embeddedPort} when a command needs it)`];
  lines.push(`data: ${config.dataDir}${status.initialised ? "" : " (not created yet)"}`);
  lines.push(`kept up by \`db start\`: ${status.pinned ? "yes, until `plugchat-sync db stop`" : "no"}`);
  lines.push(`used by: ${status.users.length === 0 ? "no command" : describeUsers(status.users)}`);
  return lines;
}

function embeddedOnly(config: Config, verb: string): void {
  if (config.databaseUrl === undefined) return;
  throw new UserFacingError(
    `DATABASE_URL is set, so the commands use that server and there is no embedded PostgreSQL to ${verb}: unset DATABASE_URL to use the embedded one`,
    { exitCode: ExitCode.badConfig },
  );
}

function describeUsers(users: readonly { pid: number; command: string }[]): string {
  return users.map((user) => `pid ${user.pid}: ${shortCommand(user.command)}`).join("; ");
}

// "/usr/bin/node /app/dist/cli/main.js worker" -> "plugchat-sync worker"
function shortCommand(command: string): string {
  const words = command.split(" ");
  const cli = words.findIndex((word) => word.endsWith("main.js") || word.endsWith("plugchat-sync"));
  return ["plugchat-sync", ...words.slice(cli + 1)].join(" ");
}
