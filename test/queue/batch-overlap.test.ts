// A worker process overlaps its batch jobs (the next one's requests go out while the current one
// waits for its last answers) and keeps one limit of requests in flight across all of them:
// SYNC_CONCURRENCY x WORKER_CONCURRENCY.
import { beforeEach, expect, it } from "vitest";
import { createPlugchatClient, type PlugchatClient } from "../../src/plugchat/index.js";
import type { SyncWorker, SyncWorkerOptions } from "../../src/queue/worker.js";
import { describeOnEachBackend } from "./backends.js";
import { useWorkerTestEnvironment, waitFor } from "./helpers.js";

const TOKEN = "overlap-test-token";
const ACCOUNTS = 16;

describeOnEachBackend("a worker's overlapping batch jobs", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: ACCOUNTS });

  beforeEach(() => {
    // Slow enough answers that a batch's requests are still in flight when the next job comes.
    env.simulator.setFault({ type: "latency", ms: 50 });
  });

  /** A client of the simulator that tries each account once. */
  function simulatorClient(): PlugchatClient {
    return createPlugchatClient({
      baseUrl: env.simulator.url,
      token: TOKEN,
      timeoutMs: 2_000,
      maxAttempts: 1,
      maxRps: 0,
    });
  }

  /** The Plugchat client of the worker, counting the requests in flight at once; `slowId`'s is held a while. */
  function countingClient(slowId?: string) {
    const client = simulatorClient();
    const counts = { inFlight: 0, most: 0 };
    const counting: PlugchatClient = {
      async getAccount(id, options) {
        counts.inFlight++;
        counts.most = Math.max(counts.most, counts.inFlight);
        try {
          if (id === slowId) await new Promise((resolve) => setTimeout(resolve, 300));
          return await client.getAccount(id, options);
        } finally {
          counts.inFlight--;
        }
      },
    };
    return { counting, counts };
  }

  /** A promise and the function that resolves it. */
  function signal() {
    let resolve = () => {};
    const promise = new Promise<void>((settle) => {
      resolve = settle;
    });
    return { promise, resolve };
  }

  function worker(client: PlugchatClient, options: Partial<SyncWorkerOptions>): SyncWorker {
    return env.worker(options, { client });
  }

  async function runThrough(started: SyncWorker) {
    await started.ready;
    await env.startManualRun();
    return env.closedRun(30_000);
  }

  it("fills one batch job's tail with the next job's requests, never more than SYNC_CONCURRENCY in flight", async () => {
    const { counting, counts } = countingClient();
    // Batches of 2 with 3 requests allowed: only two jobs overlapping can have 3 in flight.
    const run = await runThrough(worker(counting, { batchSize: 2, concurrency: 3, workerConcurrency: 1 }));

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS, accountsChanged: ACCOUNTS });
    expect(counts.most).toBe(3);
    const batches = await env.prisma.syncRunBatch.findMany({ orderBy: { batchIndex: "asc" } });
    expect(batches.map((batch) => batch.accounts)).toEqual(Array(ACCOUNTS / 2).fill(2));
  });

  it("shares SYNC_CONCURRENCY x WORKER_CONCURRENCY requests between every job it runs at once", async () => {
    const { counting, counts } = countingClient();
    // 3 jobs at once (WORKER_CONCURRENCY 2, and one to fill the tails) of 2 requests each could send 6:
    // the process's limit is 2 x 2.
    const run = await runThrough(worker(counting, { batchSize: 2, concurrency: 2, workerConcurrency: 2 }));

    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect(counts.most).toBe(4);
    expect(await env.prisma.syncRunBatch.count()).toBe(ACCOUNTS / 2);
  });

  it("stops the requests of every open job of the run when one finds the token refused", async () => {
    const ids = env.simulator.listIds().sort();
    const [refused] = ids as [string];
    const batchOf = (id: string) => Math.floor(ids.indexOf(id) / 4);
    env.simulator.setFault({ type: "status", status: 401 }, { accountId: refused, times: 1 });
    // Ordered by promises, not by timing: batch 0's refused request is answered only once another
    // job has a request out after it, and that job's requests go on only after the refusal settled.
    let refusedSent = false;
    const cutShort = new Set<number>();
    const otherJobSending = signal();
    const refusalSettled = signal();
    const base = simulatorClient();
    const ordered: PlugchatClient = {
      async getAccount(id, options) {
        if (id === refused) {
          refusedSent = true;
          await otherJobSending.promise;
          // Settled a turn later, once the sync has seen the refusal and stopped the run's requests.
          return base.getAccount(id, options).finally(() => setImmediate(refusalSettled.resolve));
        }
        if (refusedSent && batchOf(id) !== 0) {
          cutShort.add(batchOf(id));
          otherJobSending.resolve();
          await refusalSettled.promise;
        }
        return base.getAccount(id, options);
      },
    };
    const run = await runThrough(worker(ordered, { batchSize: 4, concurrency: 2, workerConcurrency: 1 }));

    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/refused the token \(HTTP 401\)/);
    // The batch that met the refusal wrote what it had fetched; a job open beside it was cut short
    // and skipped, though its own requests would have succeeded. Jobs are taken in order, so no
    // other batch wrote; should the queue ever take one early, it may write only if done before.
    expect(cutShort.size).toBeGreaterThan(0);
    const written = await env.prisma.syncRunBatch.findMany({ orderBy: { batchIndex: "asc" } });
    expect(written[0]).toMatchObject({ batchIndex: 0, accounts: 3 });
    for (const batch of written.slice(1)) {
      expect(batch.accounts).toBe(4);
      expect(cutShort.has(batch.batchIndex)).toBe(false);
    }
    const skipped = ACCOUNTS / 4 - written.length;
    await waitFor(
      "every other batch skipped",
      () => env.logs.withMessage("sync batch skipped").length === skipped,
    );
    expect(env.logs.withMessage("sync batch skipped").map((line) => line.status)).toEqual(
      Array(skipped).fill("run_stopped"),
    );
  });
});
