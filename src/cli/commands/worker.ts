import { Command } from "commander";
import { accountSourceFromConfig } from "../../accounts/source/read-source.js";
import { type Config, DEFAULT_METRICS_PORT } from "../../config/index.js";
import { createPrismaClient, type PrismaClient } from "../../db/prisma.js";
import { accountsByState, runFigures } from "../../db/sql/deployment.js";
import { mismatchCountsByField } from "../../db/sql/mismatches.js";
import { ExitCode, UserFacingError } from "../../errors.js";
import { readAtMostEvery } from "../../lib/read-at-most-every.js";
import type { Logger } from "../../logger.js";
import { notifyRunFinished } from "../../notify/index.js";
import {
  createMetrics,
  type HealthServer,
  type Metrics,
  startHealthServer,
} from "../../observability/index.js";
import { createWorkerBackend, queueBackendSettings } from "../../queue/backend/index.js";
import type { QueueHealth } from "../../queue/worker/queue-health.js";
import { type SyncWorker, startWorker } from "../../queue/worker.js";
import { statusRoutes } from "../../status/index.js";
import { plugchatClientFromConfig } from "../../sync/plugchat-client-from-config.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabase } from "../context.js";
import { exitOnSecondSignal, stopSignal } from "../stop-signal.js";
import { traceCommand } from "../tracing.js";
import { capYoungGeneration } from "../young-generation.js";

export function workerCommand(): Command {
  return new Command("worker")
    .description(descriptionOf("worker"))
    .addHelpText(
      "after",
      "\nServes /healthz, /readyz, /metrics and the status page on METRICS_PORT (unset: 9464, or a free port when that one is taken). Stops gracefully on SIGTERM or SIGINT: " +
        "no new jobs, in-flight batches finish within WORKER_SHUTDOWN_TIMEOUT_MS (then go back to the " +
        "queue), exit 0. A second signal exits at once. The queues live in PostgreSQL (QUEUE_SCHEMA of " +
        "DATABASE_URL) unless REDIS_URL or QUEUE_BACKEND=redis says Redis.",
    )
    .action(runWorker);
}

async function runWorker(): Promise<void> {
  const { config, logger } = commandContext();
  const stop = stopSignal();
  const running = await startWorkerProcess(config, logger);
  // From its first size to the cap once started: the start-up's allocations in one go could grow it
  // twice between two checks.
  running.worker.ready.then(
    () => capYoungGeneration(),
    () => undefined,
  );
  const health = await serveHealth(config, logger, running).catch(async (error: unknown) => {
    await running.release();
    throw error;
  });
  const shutDown = async () => {
    await running.release();
    await health.close();
  };
  const signal = await untilStopped(stop, running.worker.ready).catch(async (error: unknown) => {
    await shutDown();
    throw error;
  });
  logger.info({ signal }, "signal received: stopping the worker");
  exitOnSecondSignal();
  // A notification being sent may finish within the shutdown timeout; past it, it gives up.
  setTimeout(() => running.stopping.abort(), config.workerShutdownTimeoutMs).unref();
  await shutDown();
}

/** The worker of this process and what it holds. */
interface RunningWorker {
  worker: SyncWorker;
  prisma: PrismaClient;
  metrics: Metrics;
  /** The queues' job counts, read at most once per 5 s however many scrapes and page views ask. */
  jobCounts(): Promise<Record<string, number>>;
  /** The workers on the queues and the schedule, read at most once per 5 s (the status page's health). */
  queueHealth(): Promise<QueueHealth>;
  /** Aborted once the shutdown timeout has passed: a notification still being sent gives up. */
  stopping: AbortController;
  /** Closes the worker (in-flight batches finish or go back to the queue), then the database client. */
  release(): Promise<void>;
}

async function startWorkerProcess(config: Readonly<Config>, logger: Logger): Promise<RunningWorker> {
  const stopping = new AbortController();
  const metrics = createMetrics({ logger });
  const database = await commandDatabase();
  const databaseUrl = database.url;
  const telemetry = await traceCommand("worker", logger);
  const backend = createWorkerBackend(queueBackendSettings(config, databaseUrl), { logger, telemetry });
  // PLUGCHAT_MAX_RPS holds for all workers together: one schedule of request slots in the backend.
  const client = plugchatClientFromConfig(config, logger, {
    rateLimiter: backend.rateLimiter(config.plugchatMaxRps),
    onAttempt: (info) => metrics.onAttempt(info),
  });
  const prisma = createPrismaClient(databaseUrl);
  const worker = startWorker(
    {
      prisma,
      client,
      logger,
      accountSource: accountSourceFromConfig(config),
      outage: config.plugchatOutage,
    },
    {
      backend,
      cron: config.syncCron,
      timezone: config.syncTimezone,
      batchSize: config.syncBatchSize,
      concurrency: config.syncConcurrency,
      workerConcurrency: config.workerConcurrency,
      shutdownTimeoutMs: config.workerShutdownTimeoutMs,
      lockDurationMs: config.workerLockDurationMs,
      stalledIntervalMs: config.workerStalledIntervalMs,
      retention: { days: config.retentionDays, everyMs: config.pruneEveryMs },
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
  const jobCounts = readAtMostEvery(5_000, () => worker.jobCounts());
  metrics.setQueueDepthSource(jobCounts);
  const queueHealth = readAtMostEvery(5_000, () => worker.queueHealth());
  metrics.setMismatchSource(() => mismatchCountsByField(prisma));
  metrics.setDeploymentSources({
    accounts: () => accountsByState(prisma),
    runs: () => runFigures(prisma),
    ping: () => worker.checks.postgres(),
    database: database.embedded ? "embedded" : "external",
  });
  const release = async () => {
    await worker.close();
    await prisma.$disconnect();
  };
  return { worker, prisma, metrics, jobCounts, queueHealth, stopping, release };
}

/** Health, metrics and the status page, on METRICS_PORT. */
function serveHealth(
  config: Readonly<Config>,
  logger: Logger,
  running: RunningWorker,
): Promise<HealthServer> {
  const { worker, prisma, metrics, jobCounts, queueHealth } = running;
  return listenForHealth({ port: config.metricsPort, logger }, (port) =>
    startHealthServer({
      port,
      metrics,
      checks: worker.checks,
      liveness: { check: "postgres", afterMs: config.healthDatabaseOutageMs },
      logger,
      routes: statusRoutes({ prisma, jobCounts, queueHealth, password: config.statusPassword, logger }),
    }),
  );
}

/**
 * The first stop signal; or, at once, the error that keeps the worker from ever starting (the queue
 * schema is missing: run migrate), which the CLI prints as one line.
 */
async function untilStopped(stop: Promise<NodeJS.Signals>, ready: Promise<void>): Promise<NodeJS.Signals> {
  const outcome = await Promise.race([
    stop.then((signal) => ({ signal })),
    ready.then(
      () => stop.then((signal) => ({ signal })),
      (error: unknown) => ({ error }),
    ),
  ]);
  if ("error" in outcome) throw outcome.error;
  return outcome.signal;
}

/**
 * Starts the health server on METRICS_PORT. Unset, it is DEFAULT_METRICS_PORT, or any free port when
 * another process of this machine (typically a second worker) holds that one: a new user's second
 * worker should just run. A port that was set is the operator's choice, so a busy one is refused.
 */
export async function listenForHealth(
  options: { port: number | undefined; defaultPort?: number; logger: Logger },
  listen: (port: number) => Promise<HealthServer>,
): Promise<HealthServer> {
  const { port, defaultPort = DEFAULT_METRICS_PORT, logger } = options;
  try {
    return await listen(port ?? defaultPort);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    if (port !== undefined) {
      throw new UserFacingError(
        `METRICS_PORT ${port} is in use: give each worker process of a machine its own METRICS_PORT (0 picks a free one)`,
        { exitCode: ExitCode.badConfig },
      );
    }
  }
  const server = await listen(0);
  logger.warn(
    { defaultPort, port: server.port },
    `port ${defaultPort} is in use (another worker of this machine?): health, metrics and the status page are on port ${server.port}; set METRICS_PORT to choose`,
  );
  return server;
}
