// Scale-out: the same unchanged run through real `plugchat-sync worker` processes, one worker and
// then two sharing the run (BullMQ batch jobs), against the simulator with some latency. Each run's
// rate comes from its sync_runs row (started_at to finished_at), so it includes queueing and planning.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { resetAccounts, withClient } from "./database.mjs";
import { BENCH_TOKEN } from "./simulator.mjs";

const CLI = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

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
    }
  });
  state.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return state;
}

async function waitUntil(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`scale-out: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startWorkerProcess(env) {
  const worker = startCli(["worker"], env);
  await waitUntil("a worker to be ready", () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.stderrTail}`);
    return worker.messages.has("worker ready");
  });
  return worker;
}

/** `plugchat-sync trigger --wait --json`, then the run's rate from its sync_runs row. */
async function triggeredRun(env, url) {
  const trigger = startCli(["trigger", "--wait", "--json"], env);
  const { code } = await trigger.exited;
  const summary = JSON.parse(trigger.stdout || "null");
  if (code !== 0 || summary?.status !== "succeeded") {
    throw new Error(`scale-out: trigger exited ${code}: ${trigger.stdout} ${trigger.stderrTail}`);
  }
  const [row] = await withClient(url, async (client) => {
    const result = await client.query(
      `SELECT accounts_total, extract(epoch FROM finished_at - started_at)::float8 AS seconds
         FROM sync_runs WHERE id = $1`,
      [summary.runId],
    );
    return result.rows;
  });
  return {
    runId: summary.runId,
    accounts: row.accounts_total,
    seconds: row.seconds,
    accountsPerSec: row.accounts_total / row.seconds,
  };
}

async function deleteKeys(prefix) {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

export async function measureScaleOut({ url, simulator, ids, latencyMs, concurrency, progress }) {
  const prefix = `plugchat-sync-bench-${randomBytes(5).toString("hex")}`;
  const env = {
    DATABASE_URL: url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: BENCH_TOKEN,
    PLUGCHAT_MAX_RPS: "0",
    SYNC_CRON: "off",
    SYNC_CONCURRENCY: String(concurrency),
    SYNC_BATCH_SIZE: "500",
    WORKER_CONCURRENCY: "1",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
  };
  const workers = [];
  try {
    await resetAccounts(url, ids);
    await simulator.setLatency(0);
    workers.push(await startWorkerProcess(env));
    // First run (baselines) without latency, not measured: the measured runs are unchanged ones.
    await triggeredRun(env, url);
    await simulator.setLatency(latencyMs);
    const one = await triggeredRun(env, url);
    progress(`scale-out, one worker: ${Math.round(one.accountsPerSec)} accounts/s`);
    workers.push(await startWorkerProcess(env));
    const two = await triggeredRun(env, url);
    progress(`scale-out, two workers: ${Math.round(two.accountsPerSec)} accounts/s`);
    return { one, two };
  } finally {
    for (const worker of workers) worker.child.kill("SIGTERM");
    await Promise.all(workers.map((worker) => worker.exited));
    await simulator.setLatency(0);
    await deleteKeys(prefix);
  }
}
