// Scale-out: the same unchanged run through real `plugchat-sync worker` processes, one worker and
// then two sharing the run (batch jobs), on one queue backend, against the simulator with some
// latency. Each run's rate comes from its sync_runs row (see workers.mjs).
import { startWorkerProcess, triggeredRun, withWarmDeployment } from "./workers.mjs";

/** `deployment`: what withWarmDeployment (workers.mjs) takes. */
export async function measureScaleOut({ progress, ...deployment }) {
  const { backend, url, ids } = deployment;
  // The warm-up run (baselines) is not measured: the measured runs are unchanged ones.
  return withWarmDeployment(deployment, async ({ env, workers }) => {
    const one = await triggeredRun(env, url, ids.length);
    progress(`scale-out (${backend}), one worker: ${Math.round(one.accountsPerSec)} accounts/s`);
    workers.push(await startWorkerProcess(env));
    const two = await triggeredRun(env, url, ids.length);
    progress(`scale-out (${backend}), two workers: ${Math.round(two.accountsPerSec)} accounts/s`);
    return { one, two };
  });
}
