// Traces, with the standard OTEL_* variables set: the built worker, `trigger` and `sync` as real
// processes export OTLP/HTTP JSON to a receiver started here. A manual run is one trace across the
// processes; each Plugchat request and each batch's transaction is a span; log lines name the span.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import type { QueueBackendSettings } from "../../src/queue/backend/index.js";
import { BATCH_JOB, FINISH_JOB, START_RUN_JOB } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliProcess, inheritedEnv, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { ancestorsOf, type ExportedSpan, exportedSpans, exportedText } from "../helpers/otlp.js";
import { TEST_REDIS_URL } from "../helpers/redis-setup.js";
import { useWebhookReceivers, type WebhookReceiver } from "../helpers/webhook-receiver.js";
import {
  deleteQueueData,
  describeOnEachBackend,
  prepareQueues,
  testQueueSettings,
} from "../queue/backends.js";
import { spawnCli, uniquePrefix, waitFor } from "../queue/helpers.js";

const TOKEN = "traces-test-token-7d1e40";
// Trust authentication ignores it; the processes are given it all the same, as a deployment would be.
const DATABASE_PASSWORD = "traces-db-password-52ab";
const ACCOUNTS = 6;
const BATCH_SIZE = 2;
const startReceiver = useWebhookReceivers();

/** DATABASE_URL with a password in it. */
function withPassword(url: string): string {
  const withIt = new URL(url);
  withIt.password = DATABASE_PASSWORD;
  return withIt.toString();
}

/** The standard variables that turn traces on, pointed at `receiver`, exported every 100 ms. */
function otelEnv(receiver: WebhookReceiver): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  };
}

/** No exported attribute, of a span or of a resource, holds a secret or a customer's account name. */
async function expectNoSecretsIn(receiver: WebhookReceiver, prisma: PrismaClient): Promise<void> {
  const text = exportedText(receiver.received);
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(DATABASE_PASSWORD);
  expect(text).not.toMatch(/authorization|bearer/i);
  const names = (await prisma.account.findMany({ select: { name: true } })).flatMap((row) =>
    row.name ? [row.name] : [],
  );
  expect(names.length).toBe(ACCOUNTS);
  for (const name of names) expect(text).not.toContain(name);
}

const named = (spans: readonly ExportedSpan[], name: string) => spans.filter((span) => span.name === name);

describeOnEachBackend("traces", (kind) => {
  const prefix = uniquePrefix();
  let simulator: Simulator;
  let database: TestDatabase;
  let prisma: PrismaClient;
  let queues: QueueBackendSettings;
  const processes: CliProcess[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
    queues = testQueueSettings(kind, database.url, prefix);
    await prepareQueues(queues);
  });

  afterEach(async () => {
    for (const started of processes.splice(0)) {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGKILL");
      await started.exited;
    }
  });

  afterAll(async () => {
    await deleteQueueData(queues);
    await prisma.$disconnect();
    await database.drop();
    await simulator.close();
  });

  function env(receiver: WebhookReceiver): Record<string, string> {
    return {
      DATABASE_URL: withPassword(database.url),
      ...(kind === "redis" ? { REDIS_URL: TEST_REDIS_URL } : { REDIS_URL: "", QUEUE_BACKEND: "" }),
      QUEUE_PREFIX: prefix,
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_CRON: "off",
      SYNC_BATCH_SIZE: String(BATCH_SIZE),
      SYNC_CONCURRENCY: "2",
      LOG_LEVEL: "debug",
      METRICS_PORT: "0",
      ...otelEnv(receiver),
    };
  }

  it("a manual run is one trace from trigger through every batch job to the finish, with its Plugchat requests and transactions; worker log lines carry its trace id; no secret or account name in any attribute", async () => {
    const receiver = await startReceiver();
    const worker = spawnCli(["worker"], env(receiver));
    processes.push(worker);
    await waitFor("worker ready", () => worker.logs().some((line) => line.msg === "worker ready"), 20_000);
    const trigger = spawnCli(["trigger", "--wait", "--json"], env(receiver));
    processes.push(trigger);
    expect((await trigger.exited).code, trigger.stderr()).toBe(0);
    const { runId } = JSON.parse(trigger.stdout()) as { runId: number };
    // SIGTERM: the worker stops and sends the spans it still holds.
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code, worker.stderr()).toBe(0);

    const spans = exportedSpans(receiver.received);
    const root = named(spans, "trigger").find((span) => span.command === "trigger");
    expect(root, "the trigger's span").toBeDefined();
    const run = spans.filter((span) => span.traceId === root?.traceId);
    const inWorker = run.filter((span) => span.command === "worker");

    // The fire and the finish (runs queue) and each batch job (batches queue), processed by the worker.
    const processed = inWorker.filter((span) => span.scope === "bullmq" && span.name.startsWith("process "));
    const jobNames = processed.map((span) => span.attributes["bullmq.job.name"]).sort();
    const batches = ACCOUNTS / BATCH_SIZE;
    expect(jobNames).toEqual([...Array(batches).fill(BATCH_JOB), FINISH_JOB, START_RUN_JOB].sort());

    const batchSpans = named(inWorker, "sync batch");
    expect(batchSpans.map((span) => span.attributes["plugchat_sync.batch_index"]).sort()).toEqual([0, 1, 2]);
    for (const batch of batchSpans) {
      expect(batch.attributes).toMatchObject({
        "plugchat_sync.run_id": runId,
        "plugchat_sync.batch_status": "written",
      });
      expect(ancestorsOf(batch, run).map((span) => span.attributes["bullmq.job.name"])).toContain(BATCH_JOB);
    }
    const requests = named(inWorker, "plugchat getAccount");
    expect(requests).toHaveLength(ACCOUNTS);
    for (const request of requests) {
      expect(request.attributes).toMatchObject({ "http.response.status_code": 200, "plugchat.attempts": 1 });
      expect(ancestorsOf(request, run)[0]?.name).toBe("sync batch");
    }
    const attempts = named(inWorker, "GET plugchat account");
    expect(attempts).toHaveLength(ACCOUNTS);
    for (const attempt of attempts) {
      expect(attempt.attributes).toMatchObject({ "http.response.status_code": 200, "plugchat.attempt": 1 });
      expect(ancestorsOf(attempt, run)[0]?.name).toBe("plugchat getAccount");
    }
    const transactions = named(inWorker, "sync batch transaction");
    expect(transactions).toHaveLength(batches);
    for (const transaction of transactions) expect(ancestorsOf(transaction, run)[0]?.name).toBe("sync batch");

    // The worker's lines written while it ran the run's jobs name the run's trace.
    const traced = worker.logs().filter((line) => line.trace_id === root?.traceId);
    expect(traced.map((line) => line.msg)).toEqual(
      expect.arrayContaining(["sync run queued in batches", "sync batch written"]),
    );
    expect(traced.every((line) => typeof line.span_id === "string")).toBe(true);
    await expectNoSecretsIn(receiver, prisma);
  });

  it("a scheduled run is a trace of its own, starting at the worker that takes its fire", async () => {
    const receiver = await startReceiver();
    const before = (await prisma.syncRun.findFirst({ orderBy: { id: "desc" } }))?.id ?? 0;
    // Every 2 seconds (6 fields, seconds first): the first fire comes soon after the worker starts.
    const worker = spawnCli(["worker"], { ...env(receiver), SYNC_CRON: "*/2 * * * * *" });
    processes.push(worker);
    const run = await waitFor(
      "a scheduled run closed",
      () => prisma.syncRun.findFirst({ where: { id: { gt: before }, status: { not: "running" } } }),
      30_000,
    );
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code, worker.stderr()).toBe(0);

    const spans = exportedSpans(receiver.received);
    const [batch] = named(spans, "sync batch").filter(
      (span) => span.attributes["plugchat_sync.run_id"] === run.id,
    );
    expect(batch, "a batch span of the scheduled run").toBeDefined();
    const trace = spans.filter((span) => span.traceId === batch?.traceId);
    const roots = trace.filter((span) => span.parentSpanId === "");
    // The fire as the worker processed it, not the schedule's registration when the worker started.
    expect(roots.map((span) => [span.name, span.attributes["bullmq.job.name"]])).toEqual([
      // Redis keeps the prefix out of queue names (a key prefix); PostgreSQL puts it in.
      [`process ${kind === "redis" ? "" : `${prefix}/`}runs`, START_RUN_JOB],
    ]);
    expect(named(trace, "sync batch").length).toBe(ACCOUNTS / BATCH_SIZE);
  });
});

describe("traces of sync", () => {
  let simulator: Simulator;
  let database: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: ACCOUNTS });
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await database.drop();
    await simulator.close();
  });

  function env(extra: Record<string, string>) {
    return inheritedEnv({
      DATABASE_URL: withPassword(database.url),
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_BATCH_SIZE: String(BATCH_SIZE),
      ...extra,
    });
  }

  it("sync exports its run as one trace: batches, a span per Plugchat request with its attempts and status, each transaction", async () => {
    const receiver = await startReceiver();
    // One account answers 503 once: its request span has two attempts.
    const [retried] = simulator.listIds();
    simulator.setFault({ type: "status", status: 503 }, { accountId: retried, times: 1 });
    const exit = await runCli(["sync", "--json"], env(otelEnv(receiver))).finally(() =>
      simulator.clearFaults(),
    );
    expect(exit.code, exit.stderr).toBe(0);
    const { runId } = JSON.parse(exit.stdout) as { runId: number };

    const spans = exportedSpans(receiver.received);
    const [root] = named(spans, "sync");
    expect(root?.attributes).toMatchObject({
      "plugchat_sync.run_id": runId,
      "plugchat_sync.run_status": "succeeded",
    });
    const run = spans.filter((span) => span.traceId === root?.traceId);
    expect(named(run, "sync batch")).toHaveLength(ACCOUNTS / BATCH_SIZE);
    expect(named(run, "sync batch transaction")).toHaveLength(ACCOUNTS / BATCH_SIZE);
    const requests = named(run, "plugchat getAccount");
    expect(requests).toHaveLength(ACCOUNTS);
    for (const request of requests) {
      expect(request.attributes["http.response.status_code"]).toBe(200);
      expect(ancestorsOf(request, run).map((span) => span.name)).toEqual(["sync batch", "sync"]);
    }
    const request = requests.find((span) => span.attributes["plugchat.account_id"] === retried);
    expect(request?.attributes["plugchat.attempts"]).toBe(2);
    const attempts = run
      .filter((span) => span.parentSpanId === request?.spanId)
      .map((span) => [span.attributes["plugchat.attempt"], span.attributes["http.response.status_code"]])
      .sort();
    expect(attempts).toEqual([
      [1, 503],
      [2, 200],
    ]);
    const finished = exit.stderr.split("\n").find((line) => line.includes('"sync run finished"'));
    expect(finished && JSON.parse(finished).trace_id).toBe(root?.traceId);
    await expectNoSecretsIn(receiver, prisma);
  });

  it("sync with OTEL_EXPORTER_OTLP_PROTOCOL unset sends protobuf, the standard default", async () => {
    const receiver = await startReceiver();
    const { OTEL_EXPORTER_OTLP_PROTOCOL: _json, ...protobuf } = otelEnv(receiver);
    const exit = await runCli(["sync"], env(protobuf));
    expect(exit.code, exit.stderr).toBe(0);
    const exports = receiver.received.filter((request) => request.url === "/v1/traces");
    expect(exports.length).toBeGreaterThan(0);
    for (const request of exports) expect(request.headers["content-type"]).toBe("application/x-protobuf");
  });

  it("an unsupported OTEL_EXPORTER_OTLP_PROTOCOL is one line and exit 2", async () => {
    const receiver = await startReceiver();
    const exit = await runCli(["sync"], env({ ...otelEnv(receiver), OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }));
    expect(exit.code).toBe(2);
    expect(exit.stderr.trim()).toBe(
      'plugchat-sync: error: OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported: use http/protobuf (the default) or http/json',
    );
  });
});
