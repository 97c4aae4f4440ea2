import { Command } from "commander";
import { accountSourceFromConfig } from "../../accounts/source/read-source.js";
import { withPrisma } from "../../db/prisma.js";
import { showControlsInLine } from "../../lib/terminal-text.js";
import { inSpan } from "../../observability/tracing/spans.js";
import { plugchatClientFromConfig } from "../../sync/plugchat-client-from-config.js";
import { runSync } from "../../sync/run-in-process.js";
import { describeAccountSource, describeMismatches, hasMismatchNews } from "../../sync/summary-counts.js";
import type { RunSummary } from "../../sync/types.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { formatTable, formatTime } from "../format.js";
import { printJson, printLine, printNotice } from "../print.js";
import { runProgressLine } from "../progress-line.js";
import { interruptRunOnSignals } from "../run-interruption.js";
import { traceCommand } from "../tracing.js";

export function syncCommand(): Command {
  return new Command("sync")
    .description(descriptionOf("sync"))
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      "\nSIGINT (Ctrl-C), SIGTERM or SIGHUP stop the run: its requests stop, a batch being written finishes, " +
        "and the run is closed as interrupted. A second signal exits at once (the run is then left running: " +
        "plugchat-sync runs close).\n" +
        "Exit status: 0 succeeded, 1 partial or failed, 2 bad configuration or usage, 3 another run is going, " +
        "130 / 143 / 129 interrupted by SIGINT / SIGTERM / SIGHUP.",
    )
    .action(syncNow);
}

async function syncNow(options: { json?: boolean }): Promise<void> {
  const { config, logger } = commandContext();
  await traceCommand("sync", logger);
  const client = plugchatClientFromConfig(config, logger);
  // On a terminal only: piped, stderr keeps nothing but the JSON log lines.
  const progress = runProgressLine(process.stderr);
  let drawing = true;
  const interruption = interruptRunOnSignals((signal) => {
    // The terminal back in order at once (the cursor shown): the run may take a moment to close.
    drawing = false;
    progress.stop();
    logger.info(
      { signal },
      "signal received: stopping the run (a batch being written finishes, then the run is closed as interrupted); a second signal exits at once",
    );
  });
  const summary = await withPrisma(await commandDatabaseUrl(), async (prisma) => {
    // A signal before the run opens: no run is opened only to be closed.
    if (interruption.stop.aborted) return null;
    return inSpan("sync", {}, async (span) => {
      const run = await runSync(
        {
          prisma,
          client,
          logger,
          accountSource: accountSourceFromConfig(config),
          outage: config.plugchatOutage,
        },
        {
          trigger: "cli",
          concurrency: config.syncConcurrency,
          batchSize: config.syncBatchSize,
          onProgress: (figures) => {
            interruption.running(figures.runId);
            if (drawing) progress.update(figures);
          },
          // The run's summary line then starts on a line of its own.
          beforeClose: () => progress.stop(),
          stop: interruption.stop,
        },
      );
      span.setAttributes({ "plugchat_sync.run_id": run.runId, "plugchat_sync.run_status": run.status });
      return run;
    });
  }).finally(() => {
    progress.stop();
    interruption.running(undefined);
  });
  if (summary) printOutcome(summary, options.json === true);
  else printNotice(`${String(interruption.stop.reason)}: stopped before a run was opened`);
  process.exitCode = interruption.exitCode() ?? (summary?.status === "succeeded" ? 0 : 1);
}

function printOutcome(summary: RunSummary, json: boolean): void {
  if (json) printJson(summary, 2);
  else printLine(formatSummary(summary));
  if (summary.status === "failed" && summary.error) printNotice(`error: ${summary.error}`);
  if (summary.status === "interrupted") {
    printNotice(
      `run #${summary.runId} ${summary.error ?? "interrupted"}: ${summary.accountsTotal} accounts synced, each written batch whole; the others keep their last values until the next run`,
    );
  }
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
