// Peak RSS of a sync, for each number of accounts, as a user runs it: `plugchat-sync sync` (the built
// CLI, plain `node`, Node's default heap settings), a first run then an unchanged rerun, each its own
// process, against a simulator in another process, so that neither the benchmark's own data nor the
// simulator's accounts are counted.
import { readFileSync } from "node:fs";
import { simulatedAccountId } from "../../build/simulator/index.js";
import { CLI, measuringPlace } from "./cli-process.mjs";
import { resetAccounts } from "./database.mjs";
import { BENCH_TOKEN, startSimulatorProcess } from "./simulator.mjs";

const MEMORY_CONCURRENCY = 16;

/**
 * The NODE_OPTIONS the Docker image runs the worker with (its heap cap), read from the Dockerfile so
 * that the benchmark measures memory as deployed and cannot drift from it.
 */
export function deployedNodeOptions() {
  const dockerfile = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8");
  const match = /NODE_OPTIONS=(?:"([^"]*)"|(\S+))/.exec(dockerfile);
  if (!match)
    throw new Error("the Dockerfile sets no NODE_OPTIONS: the memory figures need the deployed flags");
  return (match[1] ?? match[2]).split(" ").filter(Boolean);
}

export function simulatedIds(n) {
  return Array.from({ length: n }, (_, index) => simulatedAccountId(index + 1));
}

/**
 * { accounts, peakRssMB, samples } for each count in `counts` (0 ms latency). Each count is measured
 * `samples` times, each a first run and a rerun in fresh processes; a sample's peak is the higher of
 * its two, and peakRssMB the highest sample: when V8 collects garbage varies from run to run, and the
 * target is about the worst case.
 */
export async function measureMemory({ url, counts, samples = 2, progress }) {
  const simulator = await startSimulatorProcess(Math.max(...counts));
  const place = measuringPlace();
  const env = {
    ...process.env,
    DATABASE_URL: url,
    PLUGCHAT_BASE_URL: simulator.url,
    PLUGCHAT_TOKEN: BENCH_TOKEN,
    SYNC_CONCURRENCY: String(MEMORY_CONCURRENCY),
    SYNC_BATCH_SIZE: "500",
    PLUGCHAT_MAX_RPS: "0",
    LOG_LEVEL: "warn",
  };
  try {
    const results = [];
    for (const accounts of counts) {
      const measured = [];
      for (let sample = 0; sample < samples; sample++) {
        // Every sample starts from nothing synced, so each makes the same first run and rerun.
        await resetAccounts(url, simulatedIds(accounts));
        const first = await place.timed([CLI, "sync"], env);
        const rerun = await place.timed([CLI, "sync"], env);
        measured.push({
          peakRssMB: Math.max(first.peakMB, rerun.peakMB),
          runs: [
            { phase: "first", seconds: first.wallMs / 1000, peakRssMB: first.peakMB },
            { phase: "unchanged", seconds: rerun.wallMs / 1000, peakRssMB: rerun.peakMB },
          ],
        });
      }
      const peakRssMB = Math.max(...measured.map((one) => one.peakRssMB));
      results.push({ accounts, peakRssMB, samples: measured });
      progress(
        `memory ${accounts} accounts: peak RSS of \`sync\` ${measured.map((one) => one.peakRssMB.toFixed(1)).join(", ")} MB`,
      );
    }
    return results;
  } finally {
    place.close();
    await simulator.close();
  }
}
