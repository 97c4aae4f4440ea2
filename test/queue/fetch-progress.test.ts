// A worker's run shows progress as its accounts are fetched, before its first batch is written: what
// the status page and `trigger --wait` read (sync_runs.accounts_fetched, reported about once a second).
import { expect, it } from "vitest";
import { runProgress } from "../../src/status/queries.js";
import { describeOnEachBackend } from "./backends.js";
import { useWorkerTestEnvironment, waitFor } from "./helpers.js";

const TOKEN = "fetch-progress-token";
const ACCOUNTS = 120;

describeOnEachBackend("a worker's run progress", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: ACCOUNTS });

  it("moves as accounts are fetched, before the first batch is written, and ends at every account", async () => {
    // A first batch of 60 accounts (a run's last batches are half of what is left: 60, 32, 28),
    // fetched 2 at a time at 80 ms each: about 2.4 s before it is written.
    env.simulator.setFault({ type: "latency", ms: 80 });
    await env.worker({ batchSize: ACCOUNTS, concurrency: 2 }).ready;
    await env.startManualRun();

    const early = await waitFor(
      "progress before the first batch is written",
      async () => {
        const run = await env.prisma.syncRun.findFirst();
        const progress = run ? await runProgress(env.prisma, run.id) : null;
        return progress && progress.progress.accountsDone > 0 ? progress : null;
      },
      20_000,
      20,
    );

    expect(early.status).toBe("running");
    expect(early.progress.batchesDone).toBe(0);
    expect(early.progress.accountsDone).toBeLessThan(ACCOUNTS);
    const run = await env.closedRun();
    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    expect((await runProgress(env.prisma, run.id))?.progress.accountsDone).toBe(ACCOUNTS);
  });
});
