// Real `plugchat-sync worker` processes (the built CLI) on either queue backend, and runs fired through
// them with `plugchat-sync trigger --wait`. A run's rate comes from its sync_runs row (started_at to
// finished_at: opened by the fire, closed by the finish job), so planning and queueing count.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { resetAccounts, withClient } from "./database.mjs";
import { BENCH_TOKEN } from "./simulator.mjs";

const CLI = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

export const BACKENDS = ["redis", "postgres"];

/** Starts the built CLI with `args`; `lines` has its JSON log lines so far (stderr). */
function startCli(args, env) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const state = { child, stdout: "", messages: new Set(), stderrTail: "" };
  let partial = "";
  child.stdout.on("data", (chunk) => {
    state.stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      // Only what the benchmark waits for is kept: a baseline run logs one line per account.
      if (line.includes('"worker ready"')) state.messages.add("worker ready");
      if (line.includes('"level":50') || line.includes('"level":60')) state.stderrTail = line.slice(0, 500);
      else if (!line.startsWith("{")) state.stderrTail = line.slice(0, 500);
    }
  });
  state.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return state;
}

async function waitUntil(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The environment of a deployment on `backend`, with its own QUEUE_PREFIX: on Redis, REDIS_URL; on
 * PostgreSQL no REDIS_URL, so the queues live in the bench database (schema `bullmq`), as a deployment
 * with only DATABASE_URL would have them.
 */
function deploymentEnv({ backend, url, simulator, concurrency, batchSize, extraEnv }) {
  return {
    DATABASE_URL: url,
    QUEUE_BACKEND: backend,
    REDIS_URL: backend === "redis" ? REDIS_URL : "",
    QUEUE_PREFIX: `plugchat-sync-bench-${randomBytes(5).toString("hex")}`,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: BENCH_TOKEN,
    PLUGCHAT_MAX_RPS: "0",
    SYNC_CRON: "off",
    SYNC_CONCURRENCY: String(concurrency),
    SYNC_BATCH_SIZE: String(batchSize),
    WORKER_CONCURRENCY: "1",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
    ...extraEnv,
  };
}

/** `plugchat-sync migrate` for the deployment: on PostgreSQL it creates the queue schema. */
async function migrateDeployment(env) {
  const migrate = startCli(["migrate"], env);
  const { code } = await migrate.exited;
  if (code !== 0) throw new Error(`migrate exited ${code}: ${migrate.stderrTail}`);
}

export async function startWorkerProcess(env) {
  const worker = startCli(["worker"], env);
  await waitUntil("a worker to be ready", () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.stderrTail}`);
    return worker.messages.has("worker ready");
  });
  return worker;
}

/** SIGTERM to each worker, then waits for them to exit. */
async function stopWorkers(workers) {
  for (const worker of workers) worker.child.kill("SIGTERM");
  await Promise.all(workers.map((worker) => worker.exited));
}

/**
 * `plugchat-sync trigger --wait --json`, then the run's rate from its sync_runs row; `accounts`, when
 * given, is how many the run must have synced.
 */
export async function triggeredRun(env, url, accounts) {
  const trigger = startCli(["trigger", "--wait", "--json", "--timeout", "10m"], env);
  const { code } = await trigger.exited;
  const summary = JSON.parse(trigger.stdout || "null");
  if (code !== 0 || summary?.status !== "succeeded") {
    throw new Error(`trigger exited ${code}: ${trigger.stdout} ${trigger.stderrTail}`);
  }
  const [row] = await withClient(url, async (client) => {
    const result = await client.query(
      `SELECT accounts_total, extract(epoch FROM finished_at - started_at)::float8 AS seconds
         FROM sync_runs WHERE id = $1`,
      [summary.runId],
    );
    return result.rows;
  });
  if (accounts !== undefined && row.accounts_total !== accounts) {
    throw new Error(`run #${summary.runId} synced ${row.accounts_total} accounts, not ${accounts}`);
  }
  return {
    runId: summary.runId,
    accounts: row.accounts_total,
    seconds: row.seconds,
    accountsPerSec: row.accounts_total / row.seconds,
  };
}

/** Removes the deployment's queue data: its Redis keys (on PostgreSQL the bench database is dropped). */
async function deleteQueueData(env) {
  if (env.QUEUE_BACKEND !== "redis") return;
  const redis = new Redis(env.REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${env.QUEUE_PREFIX}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * A deployment of one backend with one warm worker: migrated, the accounts tracked, a first run
 * (baselines) without latency and not measured, then the simulator at `latencyMs`. `measure` gets the
 * environment and the list of worker processes (it may start more); everything is stopped and the
 * queue data deleted after it, whatever happens.
 */
export async function withWarmDeployment(
  { backend, url, simulator, ids, latencyMs, concurrency, batchSize, extraEnv = {} },
  measure,
) {
  const env = deploymentEnv({ backend, url, simulator, concurrency, batchSize, extraEnv });
  const workers = [];
  try {
    await migrateDeployment(env);
    await resetAccounts(url, ids);
    await simulator.setLatency(0);
    workers.push(await startWorkerProcess(env));
    await triggeredRun(env, url, ids.length);
    await simulator.setLatency(latencyMs);
    return await measure({ env, workers });
  } finally {
    await stopWorkers(workers);
    await simulator.setLatency(0);
    await deleteQueueData(env);
  }
}
