#!/usr/bin/env node
// The CLI's entry. Loading the CLI takes a moment (Prisma, BullMQ): the worker's stop signals are
// captured first, so that a SIGTERM during that moment still stops it gracefully.
import { useMemoryFlagsFor } from "./memory-flags.js";
import { captureStopSignals } from "./stop-signal.js";

if (process.argv[2] === "worker") captureStopSignals();
useMemoryFlagsFor(process.argv[2]);

// Only what every command needs is loaded here: each command loads its own code (program.ts), and
// the configuration and database context load with the first command that asks for them.
const { buildProgram } = await import("./program.js");
const { CommanderError } = await import("commander");

async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    await closeCommandContext();
    // Commands report a non-fatal failure (a partial run) through process.exitCode.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    const { reportError } = await import("./errors.js");
    const { printNotice } = await import("./print.js");
    // Commander's own ends (--help, a usage error) need no database to describe them.
    const database = error instanceof CommanderError ? undefined : await databaseOfThisProcess();
    const report = reportError(error, database);
    for (const line of report.lines) printNotice(`error: ${line}`);
    await closeCommandContext().catch(() => undefined);
    return report.exitCode;
  }
}

/** Ends what the command opened (its database), if it opened anything. */
async function closeCommandContext(): Promise<void> {
  const { closeWhatCommandOpened } = await import("./command-end.js");
  await closeWhatCommandOpened();
}

// The database helps describe connection failures; a config that does not parse has none.
async function databaseOfThisProcess(): Promise<{ url: string; embeddedDataDir?: string } | undefined> {
  const { openedDatabase } = await import("./context.js");
  const opened = openedDatabase();
  if (opened) return opened;
  try {
    const { loadConfig } = await import("../config/index.js");
    const url = loadConfig().databaseUrl;
    return url === undefined ? undefined : { url };
  } catch {
    return undefined;
  }
}

// Exit explicitly: logs and output are written synchronously, and a stray keep-alive socket or pool
// must not keep a finished command hanging.
process.exit(await main(process.argv));
