// Expected values at scale: unchanged runs of N accounts (runSync, 0 ms, concurrency 64) whose account
// source returns only the ids, then the same runs with the source also returning four expected values
// per account (externalId, name, active, onReceiveMessage), a few of them wrong. Storing the
// expectations and comparing them when the run closes are set-based, so the second kind of run may take
// at most 10% longer. Medians of `runs` runs each; the first run of each kind is not timed.
import { createLogger } from "../../build/logger.js";
import { createPlugchatClient } from "../../build/plugchat/index.js";
import { simulatedAccount } from "../../build/simulator/accounts.js";
import { runSync } from "../../build/sync/run-in-process.js";
import { resetAccounts, withClient } from "./database.mjs";
import { simulatedIds } from "./memory.mjs";
import { BENCH_TOKEN, startSimulatorProcess } from "./simulator.mjs";

const SOURCE_TABLE = "bench_expected_customers";
const IDS_ONLY = `SELECT id FROM ${SOURCE_TABLE}`;
const WITH_EXPECTATIONS = `SELECT id, external_id, name, active, on_receive_message FROM ${SOURCE_TABLE}`;
/** Every so many accounts, the records expect the opposite `active`: a mismatch each. */
const WRONG_EVERY = 1_000;

/** { accounts, idsOnly: {seconds[], median}, withExpectations: {...}, ratio, mismatchesOpen, expectedMismatches } */
export async function measureExpectations({ url, accounts, runs, progress }) {
  const simulator = await startSimulatorProcess(accounts);
  try {
    const ids = simulatedIds(accounts);
    await resetAccounts(url, ids);
    await createSourceTable(url, accounts);
    const run = runner(url, simulator.url);
    await run(IDS_ONLY);
    const idsOnly = await timedRuns(run, IDS_ONLY, runs, progress, "ids only");
    const first = await run(WITH_EXPECTATIONS);
    progress(`expectations: first run with expected values (stores them) ${first.seconds.toFixed(2)} s`);
    const withExpectations = await timedRuns(run, WITH_EXPECTATIONS, runs, progress, "with expected values");
    const expectedMismatches = Math.floor(accounts / WRONG_EVERY);
    const mismatchesOpen = withExpectations.last.mismatches?.open ?? null;
    if (mismatchesOpen !== expectedMismatches)
      throw new Error(
        `expectations bench: ${mismatchesOpen} mismatches open, expected ${expectedMismatches}`,
      );
    return {
      accounts,
      runs,
      firstWithSeconds: round(first.seconds),
      idsOnly: { seconds: idsOnly.seconds, median: idsOnly.median },
      withExpectations: { seconds: withExpectations.seconds, median: withExpectations.median },
      ratio: Math.round((withExpectations.median / idsOnly.median) * 1000) / 1000,
      mismatchesOpen,
    };
  } finally {
    await withClient(url, (client) => client.query(`DROP TABLE IF EXISTS ${SOURCE_TABLE}`));
    await resetAccounts(url, []);
    await simulator.close();
  }
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

async function timedRuns(run, query, runs, progress, label) {
  const seconds = [];
  let last;
  for (let index = 0; index < runs; index++) {
    const result = await run(query);
    seconds.push(round(result.seconds));
    last = result.summary;
    progress(`expectations: unchanged run, ${label}: ${result.seconds.toFixed(2)} s`);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  return { seconds, median: sorted[Math.floor(sorted.length / 2)], last };
}

function round(value) {
  return Math.round(value * 100) / 100;
}
