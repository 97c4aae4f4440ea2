#!/usr/bin/env node
import { loadConfig } from "../config/index.js";
import { closeCommandContext, openedDatabaseUrl } from "./context.js";
import { reportError } from "./errors.js";
import { buildProgram } from "./program.js";

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    await closeCommandContext();
    // Commands report a non-fatal failure (a partial run) through process.exitCode.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    const report = reportError(error, safeDatabaseUrl());
    for (const line of report.lines) process.stderr.write(`plugchat-sync: error: ${line}\n`);
    await closeCommandContext().catch(() => undefined);
    return report.exitCode;
  }
}

// The database URL helps describe connection failures; a config that does not parse has none.
function safeDatabaseUrl(): string | undefined {
  try {
    return openedDatabaseUrl() ?? loadConfig().databaseUrl;
  } catch {
    return undefined;
  }
}

// Exit explicitly: logs and output are written synchronously, and a stray keep-alive socket or pool
// must not keep a finished command hanging.
process.exit(await main(process.argv));
