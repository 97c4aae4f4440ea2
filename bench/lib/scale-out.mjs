// Scale-out: the same unchanged run through real `plugchat-sync worker` processes, one worker and
// then two sharing the run (batch jobs), on one queue backend, against the simulator with some
// latency. Each run's rate comes from its sync_runs row (see workers.mjs).
import { resetAccounts } from "./database.mjs";
import {
  deleteQueueData,
  deploymentEnv,
  migrateDeployment,
  startWorkerProcess,
  stopWorkers,
  triggeredRun,
} from "./workers.mjs";

export async function measureScaleOut({
  backend,
  url,
  simulator,
  ids,
  latencyMs,
  concurrency,
  batchSize,
  progress,
}) {
  const env = deploymentEnv({ backend, url, simulator, concurrency, batchSize });
  const workers = [];
  try {
    await migrateDeployment(env);
    await resetAccounts(url, ids);
    await simulator.setLatency(0);
    workers.push(await startWorkerProcess(env));
    // First run (baselines) without latency, not measured: the measured runs are unchanged ones.
    await triggeredRun(env, url, ids.length);
    await simulator.setLatency(latencyMs);
    const one = await triggeredRun(env, url, ids.length);
    progress(`scale-out (${backend}), one worker: ${Math.round(one.accountsPerSec)} accounts/s`);
    workers.push(await startWorkerProcess(env));
    const two = await triggeredRun(env, url, ids.length);
    progress(`scale-out (${backend}), two workers: ${Math.round(two.accountsPerSec)} accounts/s`);
    return { one, two };
  } finally {
    await stopWorkers(workers);
    await simulator.setLatency(0);
    await deleteQueueData(env);
  }
}
