import { writeFile } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import { descriptionOf } from "../cli/command-list.js";
import { UserFacingError } from "../errors.js";
import { readAccountsFile } from "./accounts-file.js";
import { startSimulator } from "./server.js";

class UsageError extends UserFacingError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** The token a simulator accepts when none is configured: not a secret, so it may be printed. */
export const SIMULATOR_DEV_TOKEN = "simulator-token";

interface SimulatorCommandOptions {
  accounts: number;
  port: number;
  host: string;
  token?: string;
  idsFile?: string;
  accountsFile?: string;
}

/** `plugchat-sync simulator`: serves generated accounts until SIGINT or SIGTERM. */
export function simulatorCommand(): Command {
  const command = new Command("simulator")
    .description(descriptionOf("simulator"))
    .option("--accounts <n>", "number of generated accounts (acc-00001, acc-00002...)", wholeNumber, 100)
    .option("--port <port>", "port to listen on; 0 picks a free one", portNumber, 4010)
    // Shown as written (commander would quote a string default).
    .addOption(new Option("--host <host>", "address to listen on").default("127.0.0.1", "127.0.0.1"))
    .option(
      "--token <token>",
      `token clients must send (default: PLUGCHAT_TOKEN, else ${SIMULATOR_DEV_TOKEN})`,
    )
    .option("--ids-file <path>", "write the account ids to this file, one per line")
    .option(
      "--accounts-file <path>",
      "serve these accounts instead of generated ones: JSON (ids, or accounts with an id and any fields) or the id files `accounts import` reads (one id per line, or a CSV whose columns name fields)",
    )
    .addHelpText(
      "after",
      `\nControl API (no token, on the same port): GET /_simulator/accounts; GET, PUT or PATCH (JSON fields) and DELETE /_simulator/accounts/{id}; POST /_simulator/accounts/{id}/restore; POST /_simulator/faults {"fault":{"type":"status","status":503},"accountId":"...","times":N}; DELETE /_simulator/faults; GET /_simulator/stats. Examples: docs/commands.md#the-simulator`,
    );

  return command.action(async (options: SimulatorCommandOptions) => {
    const envToken = process.env.PLUGCHAT_TOKEN || undefined;
    const token = options.token ?? envToken ?? SIMULATOR_DEV_TOKEN;
    if (options.accountsFile !== undefined && command.getOptionValueSource("accounts") === "cli") {
      throw new UsageError("give --accounts or --accounts-file, not both");
    }
    const accounts =
      options.accountsFile === undefined ? options.accounts : await readAccountsFile(options.accountsFile);
    const simulator = await startSimulator({
      token,
      port: options.port,
      host: options.host,
      accounts,
      // A long-running simulator must not keep every request in memory.
      recordRequests: false,
      control: true,
    });
    try {
      if (options.idsFile !== undefined) {
        await writeFile(
          options.idsFile,
          simulator
            .listIds()
            .map((id) => `${id}\n`)
            .join(""),
        );
      }
      const tokenNote =
        token === SIMULATOR_DEV_TOKEN
          ? `token ${SIMULATOR_DEV_TOKEN}`
          : `token from ${options.token === undefined ? "PLUGCHAT_TOKEN" : "--token"}`;
      // Through commander's output so that tests and embedding programs can capture the line.
      command
        .configureOutput()
        .writeOut?.(
          `Plugchat simulator listening on ${simulator.url} with ${simulator.listIds().length} accounts (${tokenNote}); control API at ${simulator.url}/_simulator/\n`,
        );
      await stopSignal();
    } finally {
      await simulator.close();
    }
  });
}

function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number");
  return Number(value);
}

function portNumber(value: string): number {
  const port = wholeNumber(value);
  if (port > 65_535) throw new InvalidArgumentError("expected a port number (0 to 65535)");
  return port;
}
