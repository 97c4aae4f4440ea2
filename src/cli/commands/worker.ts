import { Command } from "commander";
import { createPrismaClient } from "../../db/prisma.js";
import { ExitCode, UserFacingError } from "../../errors.js";
import { notifyRunFinished } from "../../notify/index.js";
import { createMetrics, startHealthServer } from "../../observability/index.js";
import { closeConnection, createWorkerConnection } from "../../queue/redis.js";
import { createRedisRateLimiter } from "../../queue/redis-rate-limiter.js";
import { startWorker } from "../../queue/worker.js";
import { plugchatClientFromConfig } from "../../sync/plugchat-client-from-config.js";
import { commandContext, commandDatabaseUrl } from "../context.js";

export function workerCommand(): Command {
  return new Command("worker")
    .description(
      "run the scheduled worker until SIGTERM or SIGINT: registers SYNC_CRON and runs scheduled and manual runs as batch jobs shared with the other workers",
    )
    .addHelpText(
      "after",
      "\nServes /healthz, /readyz and /metrics on METRICS_PORT. Stops gracefully on SIGTERM or SIGINT: " +
        "no new jobs, in-flight batches finish within WORKER_SHUTDOWN_TIMEOUT_MS (then go back to the " +
        "queue), exit 0. A second signal exits at once.",
    )
    .action(async () => {
      const { config, logger } = commandContext();
      const stop = stopSignal();
      const stopping = new AbortController();
      const metrics = createMetrics({ logger });
      // PLUGCHAT_MAX_RPS holds for all workers together: one schedule of request slots in Redis.
      const limiterRedis = createWorkerConnection(redisUrlOf(config), {
        logger,
        connectionName: `${config.queuePrefix}:rate-limiter`,
      });
      const rateLimiter = createRedisRateLimiter({
        redis: limiterRedis,
        key: `${config.queuePrefix}:rate-limit`,
        maxRps: config.plugchatMaxRps,
      });
      const client = plugchatClientFromConfig(config, logger, {
        rateLimiter,
        onAttempt: (info) => metrics.onAttempt(info),
      });
      const prisma = createPrismaClient(await commandDatabaseUrl());
      const worker = startWorker(
        { prisma, client, logger },
        {
          redisUrl: redisUrlOf(config),
          prefix: config.queuePrefix,
          cron: config.syncCron,
          timezone: config.syncTimezone,
          batchSize: config.syncBatchSize,
          concurrency: config.syncConcurrency,
          workerConcurrency: config.workerConcurrency,
          shutdownTimeoutMs: config.workerShutdownTimeoutMs,
          lockDurationMs: config.workerLockDurationMs,
          stalledIntervalMs: config.workerStalledIntervalMs,
          metrics,
          onRunFinished: async (summary) => {
            await notifyRunFinished(summary, {
              url: config.syncNotifyUrl,
              prisma,
              logger,
              signal: stopping.signal,
            });
          },
        },
      );
      metrics.setQueueDepthSource(() => worker.jobCounts());
      const release = async () => {
        await worker.close();
        await closeConnection(limiterRedis);
        await prisma.$disconnect();
      };

      let health: Awaited<ReturnType<typeof startHealthServer>>;
      try {
        health = await startHealthServer({
          port: config.metricsPort,
          metrics,
          checks: worker.checks,
          logger,
        });
      } catch (error) {
        await release();
        if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
          throw new UserFacingError(
            `METRICS_PORT ${config.metricsPort} is in use: give each worker process of a machine its own METRICS_PORT (0 picks a free one)`,
            { exitCode: ExitCode.badConfig },
          );
        }
        throw error;
      }

      const signal = await stop;
      logger.info({ signal }, "signal received: stopping the worker");
      process.once("SIGTERM", exitNow);
      process.once("SIGINT", exitNow);
      // A notification being sent may finish within the shutdown timeout; past it, it gives up.
      setTimeout(() => stopping.abort(), config.workerShutdownTimeoutMs).unref();
      await release();
      await health.close();
    });
}

function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

function exitNow(signal: NodeJS.Signals): void {
  process.stderr.write(`plugchat-sync: ${signal} again: exiting without waiting for in-flight batches\n`);
  process.exit(1);
}

// Until the PostgreSQL queue backend lands, the worker and trigger still need Redis.
function redisUrlOf(config: { redisUrl: string | undefined }): string {
  return config.redisUrl ?? "redis://127.0.0.1:6379";
}
