// Peak RSS of a sync, for each number of accounts: each in a fresh child process (children/memory.mjs)
// that only syncs, with the simulator in another process, so that neither the benchmark's own data
// nor the simulator's accounts are counted.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { simulatedAccountId } from "../../dist/simulator/index.js";
import { resetAccounts } from "./database.mjs";
import { startSimulatorProcess } from "./simulator.mjs";

const run = promisify(execFile);
const CHILD = new URL("../children/memory.mjs", import.meta.url).pathname;
export const MEMORY_CONCURRENCY = 16;

export function simulatedIds(n) {
  return Array.from({ length: n }, (_, index) => simulatedAccountId(index + 1));
}

/**
 * { accounts, peakRssMB, samples } for each count in `counts` (0 ms latency). Each count is measured
 * `samples` times, each in a fresh process; peakRssMB is the highest: when V8 collects garbage varies
 * from run to run by tens of MB, and the target is about the worst case.
 */
export async function measureMemory({ url, counts, samples = 2, progress }) {
  const simulator = await startSimulatorProcess(Math.max(...counts));
  try {
    const results = [];
    for (const accounts of counts) {
      const measured = [];
      for (let sample = 0; sample < samples; sample++) {
        // Every sample starts from nothing synced, so each makes the same first run and rerun.
        await resetAccounts(url, simulatedIds(accounts));
        const { stdout } = await run(
          process.execPath,
          [CHILD, url, simulator.url, String(MEMORY_CONCURRENCY)],
          {
            maxBuffer: 16 * 1024 * 1024,
          },
        );
        measured.push(JSON.parse(stdout.trim().split("\n").at(-1)));
      }
      const peakRssMB = Math.max(...measured.map((one) => one.peakRssMB));
      results.push({ accounts, peakRssMB, samples: measured });
      progress(
        `memory ${accounts} accounts: peak RSS ${measured.map((one) => one.peakRssMB.toFixed(1)).join(", ")} MB`,
      );
    }
    return results;
  } finally {
    await simulator.close();
  }
}
