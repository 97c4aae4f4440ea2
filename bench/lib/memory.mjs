// Peak RSS of a sync, for each number of accounts: each in a fresh child process (children/memory.mjs)
// that only syncs, with the simulator in another process, so that neither the benchmark's own data
// nor the simulator's accounts are counted.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { simulatedAccountId } from "../../dist/simulator/index.js";
import { resetAccounts } from "./database.mjs";
import { startSimulatorProcess } from "./simulator.mjs";

const run = promisify(execFile);
const CHILD = new URL("../children/memory.mjs", import.meta.url).pathname;
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
 * `samples` times, each in a fresh process; peakRssMB is the highest: when V8 collects garbage varies
 * from run to run by tens of MB, and the target is about the worst case.
 */
export async function measureMemory({ url, counts, samples = 2, nodeFlags = [], progress }) {
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
          [...nodeFlags, CHILD, url, simulator.url, String(MEMORY_CONCURRENCY)],
          {
            maxBuffer: 16 * 1024 * 1024,
          },
        );
        measured.push(JSON.parse(stdout.trim().split("\n").at(-1)));
      }
      const peakRssMB = Math.max(...measured.map((one) => one.peakRssMB));
      results.push({ accounts, peakRssMB, samples: measured });
      progress(
        `memory ${accounts} accounts${nodeFlags.length > 0 ? ` (${nodeFlags.join(" ")})` : " (default heap)"}: peak RSS ${measured.map((one) => one.peakRssMB.toFixed(1)).join(", ")} MB`,
      );
    }
    return results;
  } finally {
    await simulator.close();
  }
}
