// Throughput of `runSync` for each latency and concurrency: a first run (every account a baseline),
// an unchanged rerun, and a rerun where 5% of the accounts were renamed. The unchanged reruns also
// say what they cost the database: statements sent, rows updated, data columns rewritten.
import { createLogger } from "../../build/logger.js";
import { createPlugchatClient } from "../../build/plugchat/index.js";
import { runSync } from "../../build/sync/run-in-process.js";
import {
  accountsTuplesUpdated,
  countingPrisma,
  installDataUpdateCounter,
  removeDataUpdateCounter,
  resetAccounts,
} from "./database.mjs";
import { measuringSteal, stolenNote } from "./machine.mjs";
import { BENCH_TOKEN } from "./simulator.mjs";

export const BATCH_SIZE = 500;
const DRIFT_EVERY = 20; // 5%

/** Accounts per second that `concurrency` requests in flight can reach at `latencyMs`; null at 0 ms. */
export function boundOf(latencyMs, concurrency) {
  return latencyMs > 0 ? concurrency / (latencyMs / 1000) : null;
}

export function benchClient(baseUrl) {
  return createPlugchatClient({
    baseUrl,
    token: BENCH_TOKEN,
    timeoutMs: 10_000,
    maxAttempts: 3,
    // No cap: the bound is the latency, not a rate limiter.
    maxRps: 0,
    logger: createLogger({ level: "warn", pretty: false }),
  });
}

/**
 * One timed `runSync` with a fresh counting client; the client is disconnected before returning.
 * `fetchingMs`: from the run's first request to its last answer, the part of the run that the
 * latency bounds (the rest opens the run, writes the last batch and closes the run).
 */
export async function timedRun(url, client, concurrency) {
  const { prisma, counter } = countingPrisma(url);
  const logger = createLogger({ level: "warn", pretty: false });
  const fetching = { first: 0, last: 0 };
  const timedClient = {
    async getAccount(accountId, options) {
      fetching.first ||= performance.now();
      try {
        return await client.getAccount(accountId, options);
      } finally {
        fetching.last = performance.now();
      }
    },
  };
  try {
    const started = performance.now();
    const summary = await runSync(
      { prisma, client: timedClient, logger },
      { trigger: "cli", concurrency, batchSize: BATCH_SIZE },
    );
    const ms = performance.now() - started;
    return { summary, ms, fetchingMs: fetching.last - fetching.first, statements: counter.statements };
  } finally {
    await prisma.$disconnect();
  }
}

/**
 * Every setting in `settings` ({ latencyMs, concurrency }), three phases each, on `ids` (all served by
 * `simulator`). Returns the throughput rows and the database cost of the unchanged runs.
 */
export async function measureThroughput({ url, simulator, ids, settings, progress }) {
  const client = benchClient(simulator.url);
  const rows = [];
  const unchangedCosts = [];
  // Not measured: the first run of a process also pays for JIT compilation and new connections.
  await simulator.setLatency(0);
  await resetAccounts(url, ids);
  await timedRun(url, client, settings[0]?.concurrency ?? 16);
  progress("throughput: warm-up run done");
  for (const { latencyMs, concurrency } of settings) {
    await simulator.setLatency(latencyMs);
    await resetAccounts(url, ids);
    const bound = boundOf(latencyMs, concurrency);
    for (const phase of ["baseline", "unchanged", "drift5"]) {
      if (phase === "drift5") await simulator.rename(DRIFT_EVERY, `drift ${latencyMs}ms c${concurrency}`);
      let updatedBefore = 0;
      if (phase === "unchanged") {
        await installDataUpdateCounter(url);
        updatedBefore = await accountsTuplesUpdated(url);
      }
      const { summary, ms, fetchingMs, statements, stolen } = await measuringSteal(() =>
        timedRun(url, client, concurrency),
      );
      checkRun(summary, ids.length, phase);
      const accountsPerSec = (summary.accountsTotal / ms) * 1000;
      const measured = {
        latencyMs,
        concurrency,
        phase,
        n: summary.accountsTotal,
        accountsPerSec: round(accountsPerSec),
        bound,
        ratio: bound === null ? null : round(accountsPerSec / bound, 3),
        seconds: round(ms / 1000, 2),
        // The same ratio from the first request to the last answer only.
        fetchingRatio:
          bound === null ? null : round(((summary.accountsTotal / fetchingMs) * 1000) / bound, 3),
        fixedSeconds: round((ms - fetchingMs) / 1000, 3),
        statements,
        statementsPerAccount: round(statements / summary.accountsTotal, 4),
        driftRows: summary.driftCount,
        // The share of the machine's CPU the hypervisor took during the run (machine.mjs).
        stolen,
      };
      if (phase === "unchanged") {
        const counted = await removeDataUpdateCounter(url);
        const nTupUpd = (await accountsTuplesUpdated(url)) - updatedBefore;
        unchangedCosts.push({ latencyMs, concurrency, ...counted, nTupUpd, statements, n: measured.n });
      }
      rows.push(measured);
      progress(
        `throughput ${latencyMs} ms c=${concurrency} ${phase}: ${measured.accountsPerSec} accounts/s (${measured.seconds} s, ${statements} statements${stolenNote(stolen)})`,
      );
    }
  }
  await simulator.setLatency(0);
  return { rows, unchangedCosts };
}

function checkRun(summary, n, phase) {
  const expectedChanged = { baseline: n, unchanged: 0, drift5: Math.ceil(n / DRIFT_EVERY) }[phase];
  if (
    summary.status !== "succeeded" ||
    summary.accountsTotal !== n ||
    summary.accountsChanged !== expectedChanged
  ) {
    throw new Error(
      `bench run (${phase}) did not do what it should: ${JSON.stringify(summary)}; expected ${n} accounts, ${expectedChanged} changed`,
    );
  }
}

export function round(value, digits = 0) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
