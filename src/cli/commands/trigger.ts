import { Command, InvalidArgumentError } from "commander";
import type { Config } from "../../config/index.js";
import { type PrismaClient, withPrisma } from "../../db/prisma.js";
import { findRun } from "../../db/sql/runs.js";
import type { Logger } from "../../logger.js";
import { inSpan } from "../../observability/tracing/spans.js";
import {
  connectProducerBackend,
  type QueueBackend,
  queueBackendSettings,
} from "../../queue/backend/index.js";
import {
  enqueueManualRun,
  liveRunningRun,
  openProducer,
  type Producer,
  RunAlreadyGoingError,
  startManualRunWhenIdle,
  startRunJobOutcome,
  waitForRun,
} from "../../queue/trigger.js";
import { parseDuration } from "../../report/since.js";
import { descriptionOf } from "../command-list.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { followRun } from "../follow-run.js";
import { formatTime } from "../format.js";
import { printJson, printLine, printNotice } from "../print.js";
import { stopWaitingOnSignals, type Waiting } from "../stop-waiting.js";
import { traceCommand } from "../tracing.js";
import { formatSummary } from "./sync.js";

interface TriggerOptions {
  wait?: boolean;
  json?: boolean;
  timeout?: number;
}

export function triggerCommand(): Command {
  return new Command("trigger")
    .description(descriptionOf("trigger"))
    .option("--wait", "wait for the run to finish and print its summary")
    .option(
      "--timeout <duration>",
      "with --wait: give up waiting after this long (e.g. 90s, 30m, 2h); a run that started goes on",
      parseTimeout,
    )
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      "\nWithout --wait, a run in progress refuses the manual run: when trigger looks, or when a worker takes the " +
        "manual run (up to 10 s after; a run that opened meanwhile, a scheduled one, makes the worker skip it). " +
        "With --wait, a run in progress is waited for and the manual run starts after it. SIGINT (Ctrl-C), " +
        "SIGTERM or SIGHUP stop the waiting at once (exit 130, 143, 129), and nothing else: the run goes on.\n" +
        "Exit status: 0 started or queued (with --wait: the run succeeded); 1 (without --wait) a run is in progress, the queues are " +
        "unreachable, or (with --wait) the run ended partial or failed, was abandoned, or the timeout " +
        "passed; 2 bad configuration.",
    )
    .action(trigger);
}

/** What the two ways of triggering share: the queues, the database, and the "no worker" warning. */
interface TriggerContext {
  prisma: PrismaClient;
  producer: Producer;
  logger: Logger;
  /** Warns, once, when no worker is connected to the queue of the job just queued. */
  warnWhenNoWorker(jobId: string): Promise<void>;
  /** Asks whether the workers run with the same queue settings. */
  warnWhenSlow(): void;
}

async function trigger(options: TriggerOptions): Promise<void> {
  const { config, logger } = commandContext();
  const deadline = options.timeout === undefined ? undefined : Date.now() + options.timeout;
  // The queues first: when they are unreachable, say so at once, in one line.
  const databaseUrl = await commandDatabaseUrl();
  const telemetry = await traceCommand("trigger", logger);
  const backend = await connectProducerBackend(queueBackendSettings(config, databaseUrl), {
    logger,
    telemetry,
  });
  const producer = openProducer(backend);
  try {
    // Traced: the run's start job, its batch jobs and its finish join this span's trace.
    await inSpan("trigger", { attributes: { "plugchat_sync.wait": options.wait === true } }, () =>
      withPrisma(databaseUrl, async (prisma) => {
        const context = { prisma, producer, logger, ...noWorkerWarnings(producer, backend, config, logger) };
        if (options.wait)
          await startAndWait(context, deadline, options.json === true, stopWaitingOnSignals());
        else await queueRun(context, options.json === true);
      }),
    );
  } finally {
    await producer.close();
  }
}

function noWorkerWarnings(
  producer: Producer,
  backend: QueueBackend,
  config: Readonly<Config>,
  logger: Logger,
): Pick<TriggerContext, "warnWhenNoWorker" | "warnWhenSlow"> {
  // Said once: a waiting manual run may be queued again after a run that opened first.
  let workersCounted = false;
  return {
    async warnWhenNoWorker(jobId) {
      if (workersCounted) return;
      workersCounted = true;
      const workers = await producer.queue.getWorkersCount().catch(() => undefined);
      if (workers !== 0) return;
      logger.warn(
        { jobId, queuePrefix: config.queuePrefix },
        `no worker is connected to this queue: the run starts when \`plugchat-sync worker\` runs with ${backend.sharedBy}`,
      );
    },
    warnWhenSlow() {
      logger.warn(
        { queuePrefix: config.queuePrefix },
        `no worker has taken the manual run yet: is \`plugchat-sync worker\` running with ${backend.sharedBy}?`,
      );
    },
  };
}

/**
 * How long `trigger` waits for a worker to take the manual run, so that it can say what became of
 * it: started, or skipped because a run opened first (a scheduled one, between the look and the take).
 */
const TAKEN_WITHIN_MS = 10_000;

/**
 * Without --wait: queues the manual run, refused while a run is in progress, and says what a worker
 * made of it: the run it started, or refused after all when a run opened first (the worker skipped it).
 */
async function queueRun(context: TriggerContext, json: boolean): Promise<void> {
  await refuseWhenRunGoing(context.prisma);
  const jobId = await enqueueManualRun(context.producer);
  await context.warnWhenNoWorker(jobId);
  const outcome = await startRunJobOutcome(context.producer, jobId, { withinMs: TAKEN_WITHIN_MS });
  if (outcome?.outcome === "skipped") await refuseWhenRunGoing(context.prisma, outcome.runningRunId);
  const started = outcome?.outcome === "planned" ? outcome : undefined;
  if (json) {
    printJson({ queued: true, jobId, runId: started?.runId ?? null, batches: started?.batches ?? null });
  } else if (started) {
    printLine(
      `manual run #${started.runId} started (${started.batches} batches): follow it with plugchat-sync report --runs 1`,
    );
  } else {
    printLine(
      `manual run queued (job ${jobId}): no worker has taken it yet; the first that does starts it, or skips it if another run is going by then (trigger --wait starts it after that run)`,
    );
  }
}

/**
 * Refuses, naming it, the run in progress; `skippedFor`: the run a worker skipped the manual run for,
 * named even when it has finished since.
 */
async function refuseWhenRunGoing(prisma: PrismaClient, skippedFor?: number): Promise<void> {
  const running = skippedFor === undefined ? await liveRunningRun(prisma) : await findRun(prisma, skippedFor);
  if (running) {
    throw new RunAlreadyGoingError(
      running.runId,
      `, ${running.trigger}, started ${formatTime(running.startedAt)}`,
    );
  }
  if (skippedFor !== undefined) throw new RunAlreadyGoingError(skippedFor, "");
}

/** With --wait: the manual run starts after a run in progress, so that it reads Plugchat now. */
async function startAndWait(
  context: TriggerContext,
  deadline: number | undefined,
  json: boolean,
  waiting: Waiting,
): Promise<void> {
  const { prisma, logger } = context;
  const within = deadline === undefined ? {} : { deadline };
  const started = await startManualRunWhenIdle(prisma, context.producer, {
    ...within,
    onWaiting: (running) =>
      logger.info(
        { runId: running.runId, trigger: running.trigger },
        "a sync run is in progress: the manual run starts when it has finished",
      ),
    onQueued: async (jobId) => {
      waiting.queued(jobId);
      await context.warnWhenNoWorker(jobId);
    },
    onSlow: context.warnWhenSlow,
  });
  logger.info(
    { runId: started.runId, batches: started.batches },
    "manual run started: waiting for it to finish",
  );
  const following = followRun(prisma, started.runId);
  waiting.following(started.runId, following);
  const summary = await waitForRun(prisma, started.runId, within).finally(following.stop);
  if (json) printJson(summary, 2);
  else printLine(formatSummary(summary));
  if (summary.status === "failed" && summary.error) printNotice(`error: ${summary.error}`);
  if (summary.status !== "succeeded") process.exitCode = 1;
}

function parseTimeout(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError("expected a duration such as 90s, 30m or 2h");
  }
  return ms;
}
