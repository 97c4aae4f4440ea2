// The worker prunes on its own, every PRUNE_EVERY_MS, with one info line for a pass that removed rows
// and none for a pass that had nothing to remove.
import { expect, it } from "vitest";
import { describeOnEachBackend } from "../queue/backends.js";
import { useWorkerTestEnvironment, waitFor } from "../queue/helpers.js";
import { DEFAULT_DAYS, insertPastRun, runsWithBatches } from "./history.js";

const TOKEN = "retention-worker-token";

describeOnEachBackend("the worker's pruning", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: 2 });

  it("removes old batch rows by itself, logs the counts once at info, and stays quiet when nothing is due", async () => {
    const old = await insertPastRun(env.prisma, { age: 10, batches: 4 });
    const latest = await insertPastRun(env.prisma, { age: 9, batches: 2 });
    const worker = env.worker({ retention: { days: DEFAULT_DAYS, everyMs: 100 } });
    await worker.ready;

    await waitFor("the old batch rows pruned", async () => (await runsWithBatches(env.prisma)).length === 1);
    expect(await runsWithBatches(env.prisma)).toEqual([latest]);
    await waitFor(
      "two passes with nothing to remove",
      () => env.logs.withMessage("pruning: nothing to remove").length >= 2,
    );
    const aboutPruning = env.logs.lines().filter((line) => /prun/i.test(String(line.msg)));
    const pruned = aboutPruning.filter((line) => line.level === "info");
    expect(pruned).toHaveLength(1);
    expect(pruned[0]).toMatchObject({
      level: "info",
      msg: "pruned old rows: 4 from sync_run_batches",
      removed: { sync_run_batches: 4, account_drift: 0, account_mismatch_spans: 0, sync_runs: 0 },
    });
    expect(old).toBeLessThan(latest);
  });

  it("never prunes when PRUNE_EVERY_MS is 0", async () => {
    await insertPastRun(env.prisma, { age: 10, batches: 4 });
    await insertPastRun(env.prisma, { age: 9, batches: 2 });
    const worker = env.worker({ retention: { days: DEFAULT_DAYS, everyMs: 0 } });
    await worker.ready;
    await env.startManualRun();
    await waitFor("the manual run closed", () =>
      env.prisma.syncRun.findFirst({ where: { trigger: "manual", status: { not: "running" } } }),
    );
    // The manual run's batches are written: the old rows would have gone by now had a pass run.
    expect((await runsWithBatches(env.prisma)).length).toBe(3);
  });
});
