// `plugchat-sync runs`: what an operator does to a run by hand.
import { Command } from "commander";
import { withPrisma } from "../../db/prisma.js";
import { CLOSED_BY_HAND, closeRunByHand } from "../../sync/close-by-hand.js";
import { runIdArgument } from "../arguments.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { printLine } from "../print.js";

export function runsCommand(): Command {
  const runs = new Command("runs").description(descriptionOf("runs"));
  runs
    .command("close")
    .description(
      `close a run left running by a process that is gone (killed, its machine lost) now, as failed ("${CLOSED_BY_HAND}"), instead of when its heartbeat has been stale for 5 minutes`,
    )
    .argument("<id>", "the run's number (sync_runs.id; `12` or `#12`)", runIdArgument)
    .option("--force", "close it even though its heartbeat is fresh (its process may still be running it)")
    .addHelpText(
      "after",
      "\nRefused while the run's heartbeat is younger than 5 minutes, unless --force: a live process refreshes it. " +
        "Its written batches stay; a batch its process is writing finishes first, and none is written after.\n" +
        "Exit status: 0 closed; 1 refused (heartbeat fresh), no such run, or closed already; 2 a bad id or configuration.",
    )
    .action(async (runId: number, options: { force?: boolean }) => {
      const { logger } = commandContext();
      const summary = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        closeRunByHand({ prisma, logger }, runId, { force: options.force === true }),
      );
      printLine(
        `run #${summary.runId} closed as ${summary.status} (${summary.error ?? CLOSED_BY_HAND}), with ${summary.accountsTotal} accounts synced`,
      );
    });
  return runs;
}
