// The worker path: what one `plugchat-sync worker` process syncs per second, on one queue backend, with
// runs fired by `plugchat-sync trigger --wait`: the whole way a scheduled run goes (fire job, planning,
// batch jobs, finish job), against the bound of its concurrency at the simulator's latency.
import { measuringSteal, stolenNote } from "./machine.mjs";
import { boundOf } from "./throughput.mjs";
import { triggeredRun, withWarmDeployment } from "./workers.mjs";

/**
 * One worker, `ids` tracked: a first run at 0 ms (baselines, and the worker's JIT and connections
 * warmed up), not measured; then `runs` unchanged runs at `latencyMs`, each measured. The slowest one
 * is the figure (a run on a busy machine can only be slowed down, never sped up, by the noise).
 */
export async function measureWorkerPath({ runs, progress, ...deployment }) {
  const { backend, url, ids, latencyMs, concurrency } = deployment;
  return withWarmDeployment(deployment, async ({ env }) => {
    const measured = [];
    for (let index = 0; index < runs; index++) {
      const run = await measuringSteal(() => triggeredRun(env, url, ids.length));
      progress(
        `worker path (${backend}), ${latencyMs} ms, c=${concurrency}, run ${index + 1}/${runs}: ${Math.round(run.accountsPerSec)} accounts/s (${run.seconds.toFixed(2)} s${stolenNote(run.stolen)})`,
      );
      measured.push(run);
    }
    const bound = boundOf(latencyMs, concurrency);
    const slowest = measured.reduce((a, b) => (b.accountsPerSec < a.accountsPerSec ? b : a));
    return { backend, bound, slowest, runs: measured };
  });
}
