import { Command, InvalidArgumentError } from "commander";
import { withPrisma } from "../../db/prisma.js";
import { connectProducerBackend, queueBackendSettings } from "../../queue/backend/index.js";
import {
  enqueueManualRun,
  liveRunningRun,
  openProducer,
  RunAlreadyGoingError,
  startManualRunWhenIdle,
  waitForRun,
} from "../../queue/trigger.js";
import { parseDuration } from "../../report/since.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { followRun } from "../follow-run.js";
import { formatTime } from "../format.js";
import { formatSummary } from "./sync.js";

export function triggerCommand(): Command {
  return new Command("trigger")
    .description("queue a manual sync run now, for the workers (`plugchat-sync worker`) to run")
    .option("--wait", "wait for the run to finish and print its summary")
    .option(
      "--timeout <duration>",
      "with --wait: give up waiting after this long (e.g. 90s, 30m, 2h); a run that started goes on",
      parseTimeout,
    )
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      "\nWith --wait, a run in progress is waited for and the manual run starts after it.\n" +
        "Exit status: 0 queued (with --wait: the run succeeded); 1 (without --wait) a run is in progress, the queues are " +
        "unreachable, or (with --wait) the run ended partial or failed, was abandoned, or the timeout " +
        "passed; 2 bad configuration.",
    )
    .action(async (options: { wait?: boolean; json?: boolean; timeout?: number }) => {
      const { config, logger } = commandContext();
      const deadline = options.timeout === undefined ? undefined : Date.now() + options.timeout;
      // The queues first: when they are unreachable, say so at once, in one line.
      const databaseUrl = await commandDatabaseUrl();
      const backend = await connectProducerBackend(queueBackendSettings(config, databaseUrl), { logger });
      const producer = openProducer(backend);
      try {
        await withPrisma(databaseUrl, async (prisma) => {
          // Said once: a waiting manual run may be queued again after a run that opened first.
          let workersCounted = false;
          const warnWhenNoWorker = async (jobId: string) => {
            if (workersCounted) return;
            workersCounted = true;
            const workers = await producer.queue.getWorkersCount().catch(() => undefined);
            if (workers === 0) {
              logger.warn(
                { jobId, queuePrefix: config.queuePrefix },
                `no worker is connected to this queue: the run starts when \`plugchat-sync worker\` runs with ${backend.sharedBy}`,
              );
            }
          };
          if (!options.wait) {
            const running = await liveRunningRun(prisma);
            if (running) {
              throw new RunAlreadyGoingError(
                running.runId,
                `, ${running.trigger}, started ${formatTime(running.startedAt)}`,
              );
            }
            const jobId = await enqueueManualRun(producer);
            await warnWhenNoWorker(jobId);
            process.stdout.write(
              options.json
                ? `${JSON.stringify({ queued: true, jobId })}\n`
                : `manual run queued (job ${jobId}): a worker starts it; follow it with plugchat-sync report --runs 1\n`,
            );
            return;
          }
          // With --wait the manual run starts after a run in progress, so that it reads Plugchat now.
          const fired = await startManualRunWhenIdle(prisma, producer, {
            ...(deadline === undefined ? {} : { deadline }),
            onWaiting: (running) =>
              logger.info(
                { runId: running.runId, trigger: running.trigger },
                "a sync run is in progress: the manual run starts when it has finished",
              ),
            onQueued: warnWhenNoWorker,
            onSlow: () =>
              logger.warn(
                { queuePrefix: config.queuePrefix },
                `no worker has taken the manual run yet: is \`plugchat-sync worker\` running with ${backend.sharedBy}?`,
              ),
          });
          logger.info(
            { runId: fired.runId, batches: fired.batches },
            "manual run started: waiting for it to finish",
          );
          const following = followRun(prisma, fired.runId);
          const summary = await waitForRun(
            prisma,
            fired.runId,
            deadline === undefined ? {} : { deadline },
          ).finally(following.stop);
          process.stdout.write(
            `${options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`,
          );
          if (summary.status === "failed" && summary.error)
            process.stderr.write(`plugchat-sync: error: ${summary.error}\n`);
          if (summary.status !== "succeeded") process.exitCode = 1;
        });
      } finally {
        await producer.close();
      }
    });
}

function parseTimeout(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError("expected a duration such as 90s, 30m or 2h");
  }
  return ms;
}
