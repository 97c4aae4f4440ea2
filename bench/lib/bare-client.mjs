// What the sync makes of the requests it could send: an unchanged run of runSync at 0 ms latency and
// concurrency 64 against a bare loop that only fetches, on the same simulator, with the same number
// of keep-alive requests in flight (node:http, the same headers, each body parsed as JSON). The two
// alternate, round after round, so that a busy moment of the machine weighs on both alike; medians.
// The ratio is what is left for the sync's own work (the client's retries and checks, comparing,
// writing batches) out of what the machine and the simulator can serve.
import { Agent, request } from "node:http";
import { resetAccounts } from "./database.mjs";
import { BENCH_TOKEN } from "./simulator.mjs";
import { benchClient, round, timedRun } from "./throughput.mjs";

const CONCURRENCY = 64;

/** { accountsPerSec, bareRequestsPerSec, ratio, rounds, ... } */
export async function measureBareClient({ url, simulator, ids, rounds = 3, progress }) {
  await simulator.setLatency(0);
  await resetAccounts(url, ids);
  const client = benchClient(simulator.url);
  await timedRun(url, client, CONCURRENCY); // baselines, not measured: the runs below are unchanged
  const sync = [];
  const bare = [];
  for (let round = 0; round < rounds; round++) {
    const { summary, ms } = await timedRun(url, client, CONCURRENCY);
    if (summary.status !== "succeeded" || summary.accountsChanged !== 0) {
      throw new Error(
        `bare client bench: the sync run did not come out unchanged: ${JSON.stringify(summary)}`,
      );
    }
    sync.push((summary.accountsTotal / ms) * 1000);
    bare.push(await bareLoop(simulator.url, ids));
    progress(
      `bare client round ${round + 1}: sync ${Math.round(sync.at(-1))} accounts/s, bare ${Math.round(bare.at(-1))} requests/s`,
    );
  }
  const accountsPerSec = median(sync);
  const bareRequestsPerSec = median(bare);
  return {
    latencyMs: 0,
    concurrency: CONCURRENCY,
    n: ids.length,
    accountsPerSec: round(accountsPerSec),
    bareRequestsPerSec: round(bareRequestsPerSec),
    ratio: round(accountsPerSec / bareRequestsPerSec, 3),
    rounds: sync.map((rate, index) => ({
      accountsPerSec: round(rate),
      bareRequestsPerSec: round(bare[index]),
    })),
  };
}

/** Requests per second of CONCURRENCY loops, each GETting the next id until none is left. */
async function bareLoop(baseUrl, ids) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = {
    Authorization: `Bearer ${BENCH_TOKEN}`,
    Accept: "application/json",
    "Content-Type": "application/json",
  };
  let next = 0;
  const fetchOne = (id) =>
    new Promise((resolve, reject) => {
      const outgoing = request(
        new URL(`integrator/account/${id}/`, `${baseUrl}/`),
        { agent, headers },
        (response) => {
          const chunks = [];
          response.on("data", (chunk) => chunks.push(chunk));
          response.on("end", () => {
            if (response.statusCode !== 200)
              reject(new Error(`bare loop: HTTP ${response.statusCode} for ${id}`));
            else resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          });
          response.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end();
    });
  const loop = async () => {
    while (next < ids.length) await fetchOne(ids[next++]);
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  } finally {
    agent.destroy();
  }
  return (ids.length / (performance.now() - started)) * 1000;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
