// `plugchat-sync prune`: the worker's pruning pass by hand, or, with --dry-run, what it would remove.
import { Command } from "commander";
import { withPrisma } from "../../db/prisma.js";
import type { PrunedTable } from "../../db/sql/retention.js";
import { type PruneResult, prune, type RetentionDays, totalRemoved } from "../../retention/prune.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { formatTable } from "../format.js";
import { printJson, printLine, printNotice } from "../print.js";

interface PruneCommandOptions {
  dryRun?: boolean;
  json?: boolean;
}

/** The variable setting each table's retention, for the table and the help. */
const SETTING: Readonly<Record<PrunedTable, string>> = {
  sync_run_batches: "RETENTION_BATCHES_DAYS",
  account_drift: "RETENTION_DRIFT_DAYS",
  account_mismatch_spans: "RETENTION_MISMATCH_SPANS_DAYS",
  account_versions: "RETENTION_VERSIONS_DAYS",
  sync_runs: "RETENTION_RUNS_DAYS",
};

export function pruneCommand(): Command {
  return new Command("prune")
    .description(descriptionOf("prune"))
    .option("--dry-run", "count what would be removed, remove nothing")
    .option("--json", "print JSON instead of a table")
    .addHelpText(
      "after",
      "\nRemoves in small chunks, each its own short transaction, so it may run during a sync; never a row " +
        "of the running run or of the latest run. A run goes only once no drift, mismatch span or version " +
        "names it. Waits while another prune (a worker's) is at work.\nExit status: 0 done; 2 a bad option or configuration.",
    )
    .action(async (options: PruneCommandOptions) => {
      const { config } = commandContext();
      const days = config.retentionDays;
      const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        prune(prisma, {
          days,
          dryRun: options.dryRun === true,
          whenBusy: "wait",
          onWaiting: () => printNotice("another prune is at work (a worker's?): waiting for it to finish"),
        }),
      );
      const dryRun = options.dryRun === true;
      if (options.json) printJson(pruneJson(result, days, dryRun), 2);
      else printLine(formatPrune(result, days, dryRun));
    });
}

function pruneJson(result: PruneResult, days: RetentionDays, dryRun: boolean): object {
  const tables = Object.entries(result.removed).map(([table, removed]) => ({
    table,
    keepDays: days[table as PrunedTable],
    [dryRun ? "wouldRemove" : "removed"]: removed,
  }));
  return { dryRun, total: totalRemoved(result), tables };
}

function formatPrune(result: PruneResult, days: RetentionDays, dryRun: boolean): string {
  const table = formatTable(
    ["table", dryRun ? "would remove" : "removed", "keeps", "setting"],
    Object.entries(result.removed).map(([name, removed]) => {
      const kept = days[name as PrunedTable];
      return [
        name,
        String(removed),
        kept === null ? "forever" : `${kept} days`,
        SETTING[name as PrunedTable],
      ];
    }),
  );
  const total = totalRemoved(result);
  const summary =
    total === 0
      ? "nothing to remove"
      : `${dryRun ? "would remove" : "removed"} ${total} row${total === 1 ? "" : "s"}${dryRun ? " (dry run: nothing removed)" : ""}`;
  return `${table}\n${summary}`;
}
