#!/usr/bin/env node
// `npm run bench` (after `npm run build`: it runs the CLI in dist/ and imports modules of build/). Measures, against the Plugchat simulator (in
// a process of its own) and a throwaway database (plugchat_sync_bench beside DATABASE_URL, dropped
// and recreated; Redis at REDIS_URL for the workers):
//   1. throughput of runSync at 0 and 50 ms latency, concurrency 16 and 64: first run, unchanged
//      rerun, rerun with 5% drifted; with the bound (concurrency / latency) and measured / bound;
//   2. the naive loop (fetch, then prisma.account.upsert, one account at a time) at 50 ms, on fewer
//      accounts, and the speed-up;
//   3. what an unchanged run costs the database: rows whose data columns changed, statements sent;
//      then (unchanged) 20 unchanged runs: WAL per run (the bench database's, with pg_walinspect),
//      after a CHECKPOINT too, dead tuples and the growth of `accounts`;
//   4. peak RSS of a sync process at 10,000 and 100,000 accounts, run with the Docker image's
//      NODE_OPTIONS (its heap cap), and once each with Node's default heap for comparison;
//   5. the worker path, on each queue backend (Redis, PostgreSQL): runs fired with `trigger --wait`
//      through one real `worker` process at 50 ms and SYNC_CONCURRENCY=64, against the bound;
//   6. scale-out, on each queue backend: one run through one worker process, then through two;
//   7. the account source at 10,000, 100,000 and 1,000,000 ids: seconds to reconcile, peak RSS;
//   8. expected values: unchanged runs of 100,000 accounts whose source returns only the ids, then
//      four expected values per account too: the second at most 10% slower;
//   9. history: 100,000 accounts x 20 versions over a year in account_versions; accounts_as_of at an
//      instant half a year ago (under 1 s), accounts_by_day over the year (under 5 s);
//  10. startup: `--help`, and `report` on 10,000 accounts with history, against `node -e 0` measured
//      alternately: wall time ratio and peak RSS of whole processes;
//  11. the queue's footprint, on each queue backend: its storage after 50 and after 200 small runs;
//  12. the bare client: an unchanged runSync at 0 ms and concurrency 64 against a loop that only
//      fetches, alternately; and what an idle worker process holds (with memory).
// One line per figure, with its target and PASS/MISS; with --json, one JSON object, last on stdout.
// Progress goes to stderr. Options: --accounts N (10000), --naive-accounts N (300),
// --memory-accounts A,B (10000,100000), --memory-samples N (2, the highest counts),
// --worker-path-accounts N (20000), --worker-path-runs N (2, the slowest counts),
// --source-accounts A,B,C (10000,100000,1000000), --expectation-accounts N (100000),
// --expectation-runs N (5), --version-accounts N (100000), --versions N (20), --backends redis,postgres,
// --only throughput,unchanged,naive,memory,workerpath,scaleout,source,expectations,versions,startup,
// queue,bare, --unchanged-runs N (20), --keep-db.
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
// First: the in-process figures (throughput, bare client) are the sync's in a process as the CLI runs
// it, with the V8 flags every command sets before Prisma compiles its WebAssembly.
import "./lib/cli-flags.mjs";
import { measureAccountSource } from "./lib/account-source.mjs";
import { measureBareClient } from "./lib/bare-client.mjs";
import { dropBenchDatabase, recreateBenchDatabase, withClient } from "./lib/database.mjs";
import { measureExpectations } from "./lib/expectations.mjs";
import { measureIdleWorker } from "./lib/idle-worker.mjs";
import { cpuTicks, stolenShare } from "./lib/machine.mjs";
import { deployedNodeOptions, measureMemory, simulatedIds } from "./lib/memory.mjs";
import { naiveLoop } from "./lib/naive.mjs";
import { measureQueueFootprint } from "./lib/queue-footprint.mjs";
import { checkTargets, humanLines, worstUnchanged } from "./lib/report.mjs";
import { measureScaleOut } from "./lib/scale-out.mjs";
import { startSimulatorProcess } from "./lib/simulator.mjs";
import { measureStartup } from "./lib/startup.mjs";
import { BATCH_SIZE, measureThroughput, round } from "./lib/throughput.mjs";
import { measureUnchangedWrites } from "./lib/unchanged-writes.mjs";
import { measureVersions } from "./lib/versions.mjs";
import { measureWorkerPath } from "./lib/worker-path.mjs";
import { BACKENDS } from "./lib/workers.mjs";

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    accounts: { type: "string", default: "10000" },
    "naive-accounts": { type: "string", default: "300" },
    "memory-accounts": { type: "string", default: "10000,100000" },
    "memory-samples": { type: "string", default: "2" },
    "worker-path-accounts": { type: "string", default: "20000" },
    "worker-path-runs": { type: "string", default: "2" },
    "source-accounts": { type: "string", default: "10000,100000,1000000" },
    "expectation-accounts": { type: "string", default: "100000" },
    "expectation-runs": { type: "string", default: "5" },
    "version-accounts": { type: "string", default: "100000" },
    versions: { type: "string", default: "20" },
    backends: { type: "string", default: BACKENDS.join(",") },
    only: {
      type: "string",
      default:
        "throughput,unchanged,naive,memory,workerpath,scaleout,source,expectations,versions,startup,queue,bare",
    },
    "unchanged-runs": { type: "string", default: "20" },
    "keep-db": { type: "boolean", default: false },
  },
});
const n = Number(values.accounts);
const naiveN = Math.min(n, Number(values["naive-accounts"]));
const memoryCounts = values["memory-accounts"].split(",").map(Number);
const only = new Set(values.only.split(","));
const workerPathN = Number(values["worker-path-accounts"]);
const backends = values.backends.split(",");
for (const backend of backends) {
  if (!BACKENDS.includes(backend))
    throw new Error(`--backends: "${backend}" is not one of ${BACKENDS.join(", ")}`);
}
const SETTINGS = [
  { latencyMs: 0, concurrency: 16 },
  { latencyMs: 0, concurrency: 64 },
  { latencyMs: 50, concurrency: 16 },
  { latencyMs: 50, concurrency: 64 },
];
const NAIVE_LATENCY_MS = 50;
// The worker path at 50 ms and concurrency 64, the throughput's hardest latency-bound setting, with
// the default SYNC_BATCH_SIZE (500): 20,000 accounts are 40 batch jobs and about 16 s at the bound, so
// what a run costs besides its batches (the fire job planning it, the finish job closing it, trigger's
// wait) weighs about 1% and the figure shows the batch jobs themselves.
const WORKER_PATH = { latencyMs: 50, concurrency: 64, batchSize: 500 };
// Scale-out at 50 ms and the default SYNC_CONCURRENCY (16): each worker is bound by latency, not by
// the 2 cores, so the figure shows what a second worker adds.
const SCALE_OUT = { latencyMs: 50, concurrency: 16, batchSize: 500 };

const began = Date.now();
const ticksAtStart = cpuTicks();
const progress = (line) =>
  process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0)}s] ${line}\n`);

const url = await recreateBenchDatabase();
const ids = simulatedIds(n);
const figures = {
  throughput: [],
  naive: null,
  unchangedRun: null,
  memory: null,
  workerPath: null,
  scaleOut: null,
  accountSource: null,
  expectations: null,
  startup: null,
  versions: null,
  queueFootprint: null,
  bareClient: null,
};
// Measured while the simulator runs; reported with the memory figures below.
let idleWorker = null;
const simulator = await startSimulatorProcess(Math.max(n, only.has("workerpath") ? workerPathN : 0));
try {
  if (only.has("throughput")) {
    const measured = await measureThroughput({ url, simulator, ids, settings: SETTINGS, progress });
    figures.throughput = measured.rows;
    figures.unchangedRun = worstUnchanged(measured.unchangedCosts);
  }
  if (only.has("unchanged")) {
    const runs = Number(values["unchanged-runs"]);
    const writes = await measureUnchangedWrites({ url, simulator, ids, runs, progress });
    figures.unchangedRun = { ...figures.unchangedRun, ...writes };
  }
  if (only.has("naive")) {
    await simulator.setLatency(NAIVE_LATENCY_MS);
    const naive = await naiveLoop({ url, simulatorUrl: simulator.url, ids: ids.slice(0, naiveN) });
    await simulator.setLatency(0);
    const ours = figures.throughput.filter(
      (row) => row.latencyMs === NAIVE_LATENCY_MS && row.concurrency === 64,
    );
    const slowest = ours.length > 0 ? Math.min(...ours.map((row) => row.accountsPerSec)) : null;
    figures.naive = {
      latencyMs: NAIVE_LATENCY_MS,
      n: naive.n,
      accountsPerSec: round(naive.accountsPerSec, 2),
      speedup: slowest === null ? null : round(slowest / naive.accountsPerSec, 1),
      comparedWith: `the slowest phase of runSync at ${NAIVE_LATENCY_MS} ms, concurrency 64, on ${n} accounts`,
    };
    progress(`naive loop: ${figures.naive.accountsPerSec} accounts/s on ${naive.n} accounts`);
  }
  if (only.has("workerpath")) {
    figures.workerPath = [];
    for (const backend of backends) {
      const { bound, slowest, runs } = await measureWorkerPath({
        backend,
        url,
        simulator,
        ids: simulatedIds(workerPathN),
        ...WORKER_PATH,
        runs: Number(values["worker-path-runs"]),
        progress,
      });
      figures.workerPath.push({
        backend,
        workers: 1,
        latencyMs: WORKER_PATH.latencyMs,
        concurrency: WORKER_PATH.concurrency,
        accountsPerSec: round(slowest.accountsPerSec),
        bound,
        ratio: round(slowest.accountsPerSec / bound, 3),
        stolen: slowest.stolen,
        n: workerPathN,
        batchSize: WORKER_PATH.batchSize,
        phase: "unchanged",
        runs: runs.map((run) => ({
          accountsPerSec: round(run.accountsPerSec),
          seconds: round(run.seconds, 2),
          stolen: run.stolen,
        })),
      });
    }
  }
  if (only.has("scaleout")) {
    figures.scaleOut = {};
    for (const backend of backends) {
      const { one, two } = await measureScaleOut({ backend, url, simulator, ids, ...SCALE_OUT, progress });
      figures.scaleOut[backend] = {
        oneWorkerAccountsPerSec: round(one.accountsPerSec),
        twoWorkersAccountsPerSec: round(two.accountsPerSec),
        ratio: round(two.accountsPerSec / one.accountsPerSec, 2),
        ...SCALE_OUT,
        n,
        phase: "unchanged",
      };
    }
  }
  if (only.has("bare")) figures.bareClient = await measureBareClient({ url, simulator, ids, progress });
  if (only.has("memory")) idleWorker = await measureIdleWorker({ url, simulator, ids, progress });
  if (only.has("queue")) {
    figures.queueFootprint = {};
    for (const backend of backends) {
      figures.queueFootprint[backend] = await measureQueueFootprint({
        backend,
        url,
        simulator,
        ids,
        progress,
      });
    }
  }
} finally {
  await simulator.close();
}
if (only.has("memory")) {
  const samples = Number(values["memory-samples"]);
  const [small, large] = await measureMemory({ url, counts: memoryCounts, samples, progress });
  figures.memory = {
    accounts: memoryCounts,
    rss10kMB: round(small.peakRssMB, 1),
    rss100kMB: round(large.peakRssMB, 1),
    ratio: round(large.peakRssMB / small.peakRssMB, 2),
    samplesPerCount: samples,
    measured: [small, large],
    idleWorkerMB: round(idleWorker.idleWorkerMB, 1),
    idleWorker: {
      ...idleWorker,
      idleWorkerMB: round(idleWorker.idleWorkerMB, 1),
      peakMB: round(idleWorker.peakMB, 1),
    },
  };
}
if (only.has("source")) {
  const counts = values["source-accounts"].split(",").map(Number);
  figures.accountSource = await measureAccountSource({
    url,
    counts,
    nodeFlags: deployedNodeOptions(),
    progress,
  });
}
if (only.has("expectations")) {
  figures.expectations = await measureExpectations({
    url,
    accounts: Number(values["expectation-accounts"]),
    runs: Number(values["expectation-runs"]),
    progress,
  });
}
if (only.has("versions")) {
  figures.versions = await measureVersions({
    url,
    accounts: Number(values["version-accounts"]),
    versions: Number(values.versions),
    repeats: 3,
    progress,
  });
}
if (only.has("startup")) figures.startup = await measureStartup({ url, progress });
const postgres = await withClient(
  url,
  async (client) => (await client.query("SHOW server_version")).rows[0].server_version,
);
if (!values["keep-db"]) await dropBenchDatabase();

const targets = checkTargets(figures);
const result = {
  ...figures,
  targets,
  machine: {
    date: new Date().toISOString(),
    node: process.version,
    postgres,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryGB: round(totalmem() / 2 ** 30, 1),
    // The share of the machine's CPU the hypervisor took over the whole benchmark (lib/machine.mjs).
    stolen: stolenShare(ticksAtStart, cpuTicks()),
  },
  settings: {
    accounts: n,
    batchSize: BATCH_SIZE,
    naiveAccounts: naiveN,
    workerPathAccounts: workerPathN,
    backends,
    simulator: "separate process",
  },
  seconds: round((Date.now() - began) / 1000),
};
// One line, so that the last line of stdout is the whole object (npm prints its banner before it).
const lines = `${humanLines(figures, targets).join("\n")}\n`;
if (values.json) {
  process.stderr.write(lines);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else process.stdout.write(lines);
