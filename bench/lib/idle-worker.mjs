// What an idle worker holds: one real `plugchat-sync worker` process (the built CLI, Node's default
// heap settings, as a user runs it) on the default queue backend (PostgreSQL), after it synced the
// bench's accounts once, left alone for IDLE_MS: its resident memory then (VmRSS), and its peak so
// far (VmHWM), from /proc.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { withWarmDeployment } from "./workers.mjs";

const IDLE_MS = 15_000;

/** { idleWorkerMB, peakMB, accounts, idleSeconds } */
export async function measureIdleWorker({ url, simulator, ids, progress }) {
  return withWarmDeployment(
    { backend: "postgres", url, simulator, ids, latencyMs: 0, concurrency: 16, batchSize: 500 },
    async ({ workers }) => {
      const [worker] = workers;
      await sleep(IDLE_MS);
      const status = readFileSync(`/proc/${worker.child.pid}/status`, "utf8");
      const figure = {
        idleWorkerMB: kilobytesOf(status, "VmRSS") / 1024,
        peakMB: kilobytesOf(status, "VmHWM") / 1024,
        accounts: ids.length,
        idleSeconds: IDLE_MS / 1000,
      };
      progress(
        `idle worker: ${figure.idleWorkerMB.toFixed(1)} MB resident, ${figure.peakMB.toFixed(1)} MB at its peak`,
      );
      return figure;
    },
  );
}

function kilobytesOf(status, field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/<pid>/status`);
  return Number(match[1]);
}
