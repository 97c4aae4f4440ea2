// A Plugchat outage under two workers, on each queue backend: each process sees the outage through its
// own requests, pauses them and probes; the run either closes failed "Plugchat unreachable" (the
// stop reason stops the other batches, the accounts not tried left as they were) or resumes when
// Plugchat answers again. Each process says so once.

import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import type { OutageSettings } from "../../src/sync/outage-detector.js";
import { quickRetryClient } from "../helpers/simulator-sync.js";
import { describeOnEachBackend } from "./backends.js";
import { useWorkerTestEnvironment, waitFor } from "./helpers.js";

const TOKEN = "worker-outage-token";
const ACCOUNTS = 200;
const OUTAGE: OutageSettings = { after: 6, probeEveryMs: 200, giveUpMs: 1_500 };

describeOnEachBackend("a Plugchat outage under two workers", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: ACCOUNTS });

  /** Two workers of this process, each with its own client and outage gate, as two processes have. */
  async function startTwoWorkers(): Promise<void> {
    const workers = ["one", "two"].map((name) =>
      env.worker(
        { name: `outage-${name}`, batchSize: 20, concurrency: 4 },
        {
          outage: OUTAGE,
          client: quickRetryClient(env.simulator.url, TOKEN, env.logs.logger),
        },
      ),
    );
    await Promise.all(workers.map((worker) => worker.ready));
  }

  /** Starts a manual run and waits until it is closed. */
  async function runOnce(during?: () => Promise<void>) {
    const last = await env.prisma.syncRun.findFirst({ orderBy: { id: "desc" } });
    await env.startManualRun();
    await during?.();
    return waitFor(
      "the run closed",
      () =>
        env.prisma.syncRun.findFirst({
          where: { id: { gt: last?.id ?? 0 }, status: { not: "running" } },
        }),
      30_000,
    );
  }

  const linesStarting = (start: string) =>
    env.logs.lines().filter((line) => String(line.msg).startsWith(start));
  const accountRows = () => env.prisma.account.findMany({ orderBy: { id: "asc" } });

  it("with Plugchat down, the run closes failed 'Plugchat unreachable', the accounts not tried left as they were, one warn line per worker", async () => {
    await startTwoWorkers();
    expect(await runOnce()).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
    const before = await accountRows();
    env.simulator.setFault({ type: "reset" });

    const run = await runOnce();

    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/^Plugchat unreachable: \d+ requests failed in a row \(last: ECONNRESET\)/);
    expect(run.stopReason).toBe(run.error);
    // No account was failed for Plugchat being down: every one keeps its values and status.
    expect(run).toMatchObject({ accountsFailed: 0, driftCount: 0 });
    expect(await accountRows()).toEqual(before);
    const failing = linesStarting("Plugchat is failing");
    expect(failing.length).toBeGreaterThanOrEqual(1);
    // One per process at most: each sees the outage through its own requests.
    expect(new Set(failing.map((line) => line.worker)).size).toBe(failing.length);
    expect(failing.every((line) => line.level === "warn" && line.runId === run.id)).toBe(true);
    expect(linesStarting("plugchat request retry").every((line) => line.level === "debug")).toBe(true);
  });

  it("with Plugchat back mid-run, the run resumes and completes, each change stored once, a 'recovered' line for each 'failing' one", async () => {
    await startTwoWorkers();
    expect(await runOnce()).toMatchObject({ status: "succeeded" });
    const changed = env.simulator.listIds().filter((_, index) => index % 20 === 3);
    for (const id of changed) env.simulator.setAccount(id, { name: `renamed ${id}` });
    env.simulator.setFault({ type: "status", status: 503 });

    const run = await runOnce(async () => {
      await waitFor("the outage's warn line", () => linesStarting("Plugchat is failing").length > 0);
      await sleep(300);
      env.simulator.clearFaults();
    });

    expect(run).toMatchObject({
      status: "succeeded",
      accountsTotal: ACCOUNTS,
      accountsFailed: 0,
      driftCount: changed.length,
    });
    const stored = await env.prisma.account.findMany({ where: { id: { in: changed } } });
    expect(stored.every((account) => account.name === `renamed ${account.id}`)).toBe(true);
    const failing = linesStarting("Plugchat is failing");
    const recovered = linesStarting("Plugchat recovered");
    expect(recovered.map((line) => line.worker).sort()).toEqual(failing.map((line) => line.worker).sort());
  });
});
