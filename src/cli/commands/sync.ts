import { Command } from "commander";
import { withPrisma } from "../../db/prisma.js";
import { plugchatClientFromConfig } from "../../sync/plugchat-client-from-config.js";
import { runSync } from "../../sync/run-sync.js";
import type { RunSummary } from "../../sync/types.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { formatTable, formatTime } from "../format.js";

export function syncCommand(): Command {
  return new Command("sync")
    .description("run one sync now in this process (no Redis needed) and print its summary")
    .option("--json", "print the summary as JSON")
    .addHelpText("after", "\nExit status: 0 succeeded, 1 partial or failed, 2 bad configuration.")
    .action(async (options: { json?: boolean }) => {
      const { config, logger } = commandContext();
      const client = plugchatClientFromConfig(config, logger);
      const summary = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        runSync(
          { prisma, client, logger },
          { trigger: "cli", concurrency: config.syncConcurrency, batchSize: config.syncBatchSize },
        ),
      );
      process.stdout.write(`${options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`);
      if (summary.status === "failed" && summary.error)
        process.stderr.write(`plugchat-sync: error: ${summary.error}\n`);
      if (summary.status !== "succeeded") process.exitCode = 1;
    });
}

export function formatSummary(summary: RunSummary): string {
  const table = formatTable(
    ["run", "status", "total", "changed", "unchanged", "not found", "failed", "drift"],
    [
      [
        `#${summary.runId}`,
        summary.status,
        String(summary.accountsTotal),
        String(summary.accountsChanged),
        String(summary.accountsUnchanged),
        String(summary.accountsNotFound),
        String(summary.accountsFailed),
        String(summary.driftCount),
      ],
    ],
  );
  const notes = [
    `started ${formatTime(summary.startedAt)}, finished ${formatTime(summary.finishedAt)}`,
    ...(summary.error ? [`error: ${summary.error}`] : []),
    ...(summary.unknownFields.length > 0 ? [`unknown API fields: ${summary.unknownFields.join(", ")}`] : []),
  ];
  return [table, ...notes].join("\n");
}
