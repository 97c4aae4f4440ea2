#!/usr/bin/env node
// The CLI's entry. Loading the CLI takes a moment (Prisma, BullMQ): the worker's stop signals are
// captured first, so that a SIGTERM during that moment still stops it gracefully.
import { captureStopSignals } from "./stop-signal.js";

if (process.argv[2] === "worker") captureStopSignals();

const { loadConfig } = await import("../config/index.js");
const { closeCommandContext, openedDatabase } = await import("./context.js");
const { reportError } = await import("./errors.js");
const { printNotice } = await import("./print.js");
const { buildProgram } = await import("./program.js");

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    await closeCommandContext();
    // Commands report a non-fatal failure (a partial run) through process.exitCode.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    const report = reportError(error, databaseOfThisProcess());
    for (const line of report.lines) printNotice(`error: ${line}`);
    await closeCommandContext().catch(() => undefined);
    return report.exitCode;
  }
}

// The database helps describe connection failures; a config that does not parse has none.
function databaseOfThisProcess(): { url: string; embeddedDataDir?: string } | undefined {
  const opened = openedDatabase();
  if (opened) return opened;
  try {
    const url = loadConfig().databaseUrl;
    return url === undefined ? undefined : { url };
  } catch {
    return undefined;
  }
}

// Exit explicitly: logs and output are written synchronously, and a stray keep-alive socket or pool
// must not keep a finished command hanging.
process.exit(await main(process.argv));
