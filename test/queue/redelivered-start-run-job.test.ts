// A fire delivered again after its worker died between opening the run and recording the run's id on
// the job: it must continue that run, not skip it because of its own run (which would then stay open,
// with no batches, until its heartbeat went stale). Delivered again after it queued the run's batches, it
// queues none more. And queues losing their data lose the schedule: the workers register it again after
// the outage.
import { expect, it } from "vitest";
import { RUNS_QUEUE, SCHEDULER_ID, START_RUN_JOB, type StartRunJobData } from "../../src/queue/jobs.js";
import { startRun } from "../../src/sync/run-lifecycle.js";
import { describeOnEachBackend, inspectionBackend, loseQueueData } from "./backends.js";
import { useWorkerTestEnvironment, waitFor } from "./helpers.js";

const TOKEN = "redelivered-start-run-job-test-token";
const ACCOUNTS = 4;

describeOnEachBackend("a fire delivered again", (kind) => {
  const env = useWorkerTestEnvironment(kind, { token: TOKEN, accounts: ACCOUNTS });

  /** The job once completed, read after its completion (a job read before it has no return value). */
  async function completedJob(jobId: string) {
    await waitFor("the fire completed", async () => (await env.runsQueue.getJobState(jobId)) === "completed");
    return env.runsQueue.getJob(jobId);
  }

  it("a fire whose worker died right after opening the run continues that run when delivered again", async () => {
    // A worker that dies at the worst moment: it takes the fire, opens the run exactly as the real worker
    // does, and stops there (no lock renewal, force-closed), so the fire stalls with the run open.
    let opened: number | undefined;
    const dyingBackend = inspectionBackend(env.queues);
    const dying = dyingBackend.worker<StartRunJobData, unknown>(
      RUNS_QUEUE,
      async (job) => {
        opened = (
          await startRun(
            { prisma: env.prisma, client: undefined as never, logger: env.logs.logger },
            job.data.trigger,
          )
        ).runId;
        await new Promise(() => undefined);
      },
      // No stalled-job check of its own: it would hold off everyone's for its 30 s interval.
      {
        lockDuration: 1_000,
        skipLockRenewal: true,
        skipStalledCheck: true,
      },
    );
    const fire = await env.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
    await waitFor("the dying worker's run", () => opened);
    await dying.close(true);
    await dyingBackend.close();

    env.worker({ lockDurationMs: 1_000, stalledIntervalMs: 500 });
    const run = await waitFor(
      "the run closed",
      () => env.prisma.syncRun.findFirst({ where: { id: opened, status: { not: "running" } } }),
      15_000,
    );

    expect(run).toMatchObject({ status: "succeeded", trigger: "manual", accountsTotal: ACCOUNTS });
    expect(await env.prisma.syncRun.count()).toBe(1);
    expect(await env.prisma.syncRunBatch.count({ where: { runId: opened } })).toBe(ACCOUNTS / 2);
    const done = await completedJob(fire.id as string);
    expect(done?.returnvalue).toMatchObject({ outcome: "planned", runId: opened });
    expect(
      env.logs.withMessage(
        "sync fire delivered again: continuing the run it opened before its worker stopped",
      ),
    ).toHaveLength(1);
  });

  it("a fire delivered again after queueing its run's batches queues none more, even for accounts tracked since", async () => {
    // The batches take a while, so the run is still going when the fire comes again.
    env.simulator.setFault({ type: "latency", ms: 1_500 });
    env.worker({ lockDurationMs: 1_000, stalledIntervalMs: 500 });
    const fire = await env.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
    const first = (await completedJob(fire.id as string))?.returnvalue;
    expect(first).toMatchObject({ outcome: "planned", batches: ACCOUNTS / 2 });
    const runId = (first as { runId: number }).runId;
    await env.prisma.account.createMany({ data: [{ id: "tracked-since-1" }, { id: "tracked-since-2" }] });

    // What a fire whose worker died after queueing the flow, but before completing, is delivered as: its
    // data names the run it opened (the job's data is updated before the flow is queued).
    const again = await env.runsQueue.add(START_RUN_JOB, {
      trigger: "manual",
      runId,
    } satisfies StartRunJobData);
    const second = (await completedJob(again.id as string))?.returnvalue;
    const batchJobs = Object.values(await env.batchesQueue.getJobCounts()).reduce((sum, n) => sum + n, 0);
    const run = await waitFor(
      "the run closed",
      () => env.prisma.syncRun.findFirst({ where: { id: runId, status: { not: "running" } } }),
      15_000,
    );

    expect(second).toEqual({ outcome: "planned", runId, batches: ACCOUNTS / 2 });
    expect(batchJobs).toBe(ACCOUNTS / 2);
    expect(run).toMatchObject({ status: "succeeded", accountsTotal: ACCOUNTS });
  });

  it("a fire delivered for the first time still skips a running run, even one without batches", async () => {
    const running = await env.prisma.syncRun.create({ data: { trigger: "manual" } });
    env.worker({ lockDurationMs: 1_000, stalledIntervalMs: 500 });
    const fire = await env.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
    const done = await completedJob(fire.id as string);

    expect(done?.returnvalue).toMatchObject({ outcome: "skipped", runningRunId: running.id });
    expect(await env.prisma.syncRun.findUniqueOrThrow({ where: { id: running.id } })).toMatchObject({
      status: "running",
    });
    expect(await env.prisma.syncRunBatch.count()).toBe(0);
  });

  it("registers the schedule again when the queues come back without it (data lost)", async () => {
    const worker = env.worker({ cron: "0 0 1 1 *" }, { maxReconnectDelayMs: 200 });
    await worker.ready;
    expect(await env.runsQueue.getJobScheduler(SCHEDULER_ID)).toMatchObject({ pattern: "0 0 1 1 *" });

    // What a backend restarted without its data looks like to the worker: its data gone, its
    // connections dropped.
    await loseQueueData(env.queues);
    expect(await env.runsQueue.getJobScheduler(SCHEDULER_ID)).toBeUndefined();

    await waitFor("the schedule registered again", () => env.runsQueue.getJobScheduler(SCHEDULER_ID), 10_000);
    expect(
      env.logs.withMessage(
        "the sync schedule is missing after a queue backend problem (its data lost?): registering it again",
      ),
    ).toHaveLength(1);
  });
});
