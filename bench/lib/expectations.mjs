// Expected values at scale: unchanged runs of N accounts (runSync, 0 ms, concurrency 64) whose account
// source returns only the ids, against the same runs with the source also returning four expected
// values per account (externalId, name, active, onReceiveMessage), a few of them wrong. Storing the
// expectations and comparing them when the run closes are set-based, so the second kind of run may take
// at most 10% longer. Last, the digests of the stored values are deleted (as an upgrade that changes
// them does), and the run that then compares every account is timed against the ids-only median.
//
// The two kinds alternate, round after round, so that a slow moment of the machine weighs on both
// (the figure is the median of the rounds' ratios). Switching kinds is a run of its own, not timed: the
// first run with expected values stores them all, the first without removes them. Before each timed
// run the database is vacuumed, analysed and checkpointed: what autovacuum (off on this machine's
// PostgreSQL) and the checkpointer do between two runs of a deployment's schedule, so that the rows the
// switching run removed and the WAL it wrote are not counted against the run after it.
import { createLogger } from "../../build/logger.js";
import { createPlugchatClient } from "../../build/plugchat/index.js";
import { simulatedAccount } from "../../build/simulator/accounts.js";
import { runSync } from "../../build/sync/run-in-process.js";
import { resetAccounts, withClient } from "./database.mjs";
import { measuringSteal, stolenNote } from "./machine.mjs";
import { simulatedIds } from "./memory.mjs";
import { BENCH_TOKEN, startSimulatorProcess } from "./simulator.mjs";

const SOURCE_TABLE = "bench_expected_customers";
const IDS_ONLY = `SELECT id FROM ${SOURCE_TABLE}`;
const WITH_EXPECTATIONS = `SELECT id, external_id, name, active, on_receive_message FROM ${SOURCE_TABLE}`;
/** Every so many accounts, the records expect the opposite `active`: a mismatch each. */
const WRONG_EVERY = 1_000;

/**
 * { accounts, rounds, idsOnly: {seconds[], median}, withExpectations: {...}, ratios[], ratio,
 *   digestsLost: {seconds, ratio}, mismatchesOpen }
 */
export async function measureExpectations({ url, accounts, runs, progress }) {
  const simulator = await startSimulatorProcess(accounts);
  try {
    const ids = simulatedIds(accounts);
    await resetAccounts(url, ids);
    await createSourceTable(url, accounts);
    const run = runner(url, simulator.url);
    await run(IDS_ONLY);
    const idsOnly = [];
    const withExpectations = [];
    // The share of CPU the hypervisor stole during each timed run, with then without (machine.mjs).
    const stolen = [];
    let firstWithSeconds = 0;
    let last;
    for (let round = 0; round < runs; round++) {
      if (round > 0) await run(IDS_ONLY); // removes the expected values the last round stored
      const without = await measuringSteal(() => timedRun(url, run, IDS_ONLY));
      idsOnly.push(without.seconds);
      const storing = await run(WITH_EXPECTATIONS);
      if (round === 0) firstWithSeconds = storing.seconds;
      const timed = await measuringSteal(() => timedRun(url, run, WITH_EXPECTATIONS));
      withExpectations.push(timed.seconds);
      stolen.push([without.stolen, timed.stolen]);
      last = timed.summary;
      progress(
        `expectations round ${round + 1}/${runs}: unchanged run, ids only ${idsOnly.at(-1).toFixed(2)} s${stolenNote(without.stolen)}, with expected values ${timed.seconds.toFixed(2)} s${stolenNote(timed.stolen)} (storing them first: ${storing.seconds.toFixed(2)} s)`,
      );
    }
    // What the first run after an upgrade that changes the digests (or after their table is lost)
    // does: compare every account's values with the stored ones, and store every digest again.
    await withClient(url, (client) => client.query("TRUNCATE account_expectation_digests"));
    const comparingAll = await timedRun(url, run, WITH_EXPECTATIONS);
    progress(`expectations: the run that compares every account again ${comparingAll.seconds.toFixed(2)} s`);
    const expectedMismatches = Math.floor(accounts / WRONG_EVERY);
    const mismatchesOpen = last.mismatches?.open ?? null;
    if (mismatchesOpen !== expectedMismatches)
      throw new Error(
        `expectations bench: ${mismatchesOpen} mismatches open, expected ${expectedMismatches}`,
      );
    const ratios = withExpectations.map((seconds, index) => seconds / idsOnly[index]);
    return {
      accounts,
      runs,
      firstWithSeconds: round(firstWithSeconds),
      idsOnly: { seconds: idsOnly.map(round), median: round(median(idsOnly)) },
      withExpectations: { seconds: withExpectations.map(round), median: round(median(withExpectations)) },
      ratios: ratios.map((ratio) => Math.round(ratio * 1000) / 1000),
      ratio: Math.round(median(ratios) * 1000) / 1000,
      digestsLost: {
        seconds: round(comparingAll.seconds),
        ratio: Math.round((comparingAll.seconds / median(idsOnly)) * 1000) / 1000,
      },
      stolen,
      mismatchesOpen,
    };
  } finally {
    await withClient(url, (client) => client.query(`DROP TABLE IF EXISTS ${SOURCE_TABLE}`));
    await resetAccounts(url, []);
    await simulator.close();
  }
}

/** One run of `query`'s kind, timed, after the database has been settled as a deployment's would be. */
async function timedRun(url, run, query) {
  await withClient(url, async (client) => {
    await client.query("VACUUM (ANALYZE)");
    await client.query("CHECKPOINT");
  });
  return run(query);
}

/** The integrator's table: the simulator's own values, but `active` reversed every WRONG_EVERY. */
async function createSourceTable(url, accounts) {
  const rows = Array.from({ length: accounts }, (_, index) => simulatedAccount(index + 1));
  await withClient(url, async (client) => {
    await client.query(`DROP TABLE IF EXISTS ${SOURCE_TABLE}`);
    await client.query(
      `CREATE TABLE ${SOURCE_TABLE} AS
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[])
                    AS t(id, external_id, name, active, on_receive_message)`,
      [
        simulatedIds(accounts),
        rows.map((account) => account.externalId),
        rows.map((account) => account.name),
        rows.map((account, index) => ((index + 1) % WRONG_EVERY === 0 ? !account.active : account.active)),
        rows.map((account) => account.onReceiveMessage),
      ],
    );
  });
}

function runner(url, simulatorUrl) {
  const logger = createLogger({ level: "error", pretty: false });
  const client = createPlugchatClient({
    baseUrl: simulatorUrl,
    token: BENCH_TOKEN,
    timeoutMs: 10_000,
    maxAttempts: 3,
    maxRps: 0,
    logger,
  });
  return async (query) => {
    const { createPrismaClient } = await import("../../build/db/prisma.js");
    const prisma = createPrismaClient(url);
    try {
      const started = performance.now();
      const summary = await runSync(
        {
          prisma,
          client,
          logger,
          accountSource: { url, query, timeoutMs: 600_000, maxRemovalShare: 1 },
        },
        { trigger: "cli", concurrency: 64, batchSize: 500 },
      );
      if (summary.status !== "succeeded" || summary.accountSource?.outcome !== "applied")
        throw new Error(
          `expectations bench run: ${summary.status}, source ${summary.accountSource?.outcome}`,
        );
      return { seconds: (performance.now() - started) / 1000, summary };
    } finally {
      await prisma.$disconnect();
    }
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value) {
  return Math.round(value * 100) / 100;
}
