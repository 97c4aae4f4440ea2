import { Command } from "commander";
import { withPrisma } from "../../db/prisma.js";
import { closeConnection, connectProducer } from "../../queue/redis.js";
import {
  enqueueManualRun,
  liveRunningRun,
  openProducer,
  RunAlreadyGoingError,
  waitForFire,
  waitForRun,
} from "../../queue/trigger.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { formatTime } from "../format.js";
import { formatSummary } from "./sync.js";

export function triggerCommand(): Command {
  return new Command("trigger")
    .description("queue a manual sync run now, for the workers (`plugchat-sync worker`) to run")
    .option("--wait", "wait for the run to finish and print its summary")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      "\nExit status: 0 queued (with --wait: the run succeeded); 1 a run is in progress, Redis is " +
        "unreachable, or (with --wait) the run ended partial or failed; 2 bad configuration.",
    )
    .action(async (options: { wait?: boolean; json?: boolean }) => {
      const { config, logger } = commandContext();
      // Redis first: when it is down, say so at once, in one line.
      const redis = await connectProducer(redisUrlOf(config));
      const producer = openProducer(redis, config.queuePrefix);
      try {
        await withPrisma(await commandDatabaseUrl(), async (prisma) => {
          const running = await liveRunningRun(prisma);
          if (running) {
            throw new RunAlreadyGoingError(
              running.runId,
              `, ${running.trigger}, started ${formatTime(running.startedAt)}`,
            );
          }
          const jobId = await enqueueManualRun(producer.queue, redisUrlOf(config));
          const workers = await producer.queue.getWorkersCount().catch(() => undefined);
          if (workers === 0) {
            logger.warn(
              { jobId, queuePrefix: config.queuePrefix },
              "no worker is connected to this queue: the run starts when `plugchat-sync worker` runs with the same REDIS_URL and QUEUE_PREFIX",
            );
          }
          if (!options.wait) {
            process.stdout.write(
              options.json
                ? `${JSON.stringify({ queued: true, jobId })}\n`
                : `manual run queued (job ${jobId}): a worker starts it; follow it with plugchat-sync report --runs 1\n`,
            );
            return;
          }
          const fired = await waitForFire(producer.queue, jobId, redisUrlOf(config), {
            onSlow: () =>
              logger.warn(
                { jobId, queuePrefix: config.queuePrefix },
                "no worker has taken the manual run yet: is `plugchat-sync worker` running with the same REDIS_URL and QUEUE_PREFIX?",
              ),
          });
          if (fired.outcome === "skipped") throw new RunAlreadyGoingError(fired.runningRunId, "");
          logger.info(
            { runId: fired.runId, batches: fired.batches },
            "manual run started: waiting for it to finish",
          );
          const summary = await waitForRun(prisma, fired.runId);
          process.stdout.write(
            `${options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`,
          );
          if (summary.status === "failed" && summary.error)
            process.stderr.write(`plugchat-sync: error: ${summary.error}\n`);
          if (summary.status !== "succeeded") process.exitCode = 1;
        });
      } finally {
        await producer.close();
        await closeConnection(redis);
      }
    });
}

// Until the PostgreSQL queue backend lands, the worker and trigger still need Redis.
function redisUrlOf(config: { redisUrl: string | undefined }): string {
  return config.redisUrl ?? "redis://127.0.0.1:6379";
}
