import { Command } from "commander";
import { accountSourceFromConfig } from "../../accounts/source/read-source.js";
import { withPrisma } from "../../db/prisma.js";
import { showControlsInLine } from "../../lib/terminal-text.js";
import { plugchatClientFromConfig } from "../../sync/plugchat-client-from-config.js";
import { runSync } from "../../sync/run-in-process.js";
import { describeAccountSource, describeMismatches, hasMismatchNews } from "../../sync/summary-counts.js";
import type { RunSummary } from "../../sync/types.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { formatTable, formatTime } from "../format.js";
import { printJson, printLine, printNotice } from "../print.js";
import { runProgressLine } from "../progress-line.js";

export function syncCommand(): Command {
  return new Command("sync")
    .description("run one sync now in this process (no Redis needed) and print its summary")
    .option("--json", "print the summary as JSON")
    .addHelpText("after", "\nExit status: 0 succeeded, 1 partial or failed, 2 bad configuration.")
    .action(async (options: { json?: boolean }) => {
      const { config, logger } = commandContext();
      const client = plugchatClientFromConfig(config, logger);
      // On a terminal only: piped, stderr keeps nothing but the JSON log lines.
      const progress = runProgressLine(process.stderr);
      const summary = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        runSync(
          { prisma, client, logger, accountSource: accountSourceFromConfig(config) },
          {
            trigger: "cli",
            concurrency: config.syncConcurrency,
            batchSize: config.syncBatchSize,
            onProgress: (figures) => progress.update(figures),
            // The run's summary line then starts on a line of its own.
            beforeClose: () => progress.stop(),
          },
        ),
      ).finally(() => progress.stop());
      if (options.json) printJson(summary, 2);
      else printLine(formatSummary(summary));
      if (summary.status === "failed" && summary.error) printNotice(`error: ${summary.error}`);
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
    ...(summary.accountSource ? [`account source: ${describeAccountSource(summary.accountSource)}`] : []),
    ...(hasMismatchNews(summary.mismatches)
      ? [
          `mismatches with your records: ${describeMismatches(summary.mismatches)}; list them with \`plugchat-sync mismatches\``,
        ]
      : []),
  ];
  // One line each: the run's error and the unknown field names come from Plugchat.
  return [table, ...notes.map(showControlsInLine)].join("\n");
}
