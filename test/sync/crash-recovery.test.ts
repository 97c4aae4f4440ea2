import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { createPlugchatClient } from "../../src/plugchat/index.js";
import { runSync } from "../../src/sync/run-in-process.js";
import { inheritedEnv, spawnCli } from "../helpers/cli.js";
import { captureLogs } from "../helpers/logs.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";

const TOKEN = "crash-test-token";
const ACCOUNTS = 12;

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

function syncInChildProcess() {
  return spawnCli(
    ["sync"],
    inheritedEnv({
      DATABASE_URL: setup.database.url,
      PLUGCHAT_BASE_URL: setup.simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_BATCH_SIZE: "2",
      SYNC_CONCURRENCY: "1",
      LOG_LEVEL: "warn",
    }),
  );
}

it("a run killed with SIGKILL mid-way leaves whole batches only, and the rerun fixes the rest without duplicate drift", async () => {
  const logs = captureLogs();
  const client = createPlugchatClient({
    baseUrl: setup.simulator.url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 2,
    maxRps: 0,
    logger: logs.logger,
  });
  await runSync({ prisma: setup.prisma, client, logger: logs.logger }, { trigger: "cli", concurrency: 4 });
  // Two fields change on every account, so each must end with exactly two drift rows.
  for (const id of setup.simulator.listIds()) {
    setup.simulator.setAccount(id, {
      name: `renamed ${id}`,
      active: !setup.simulator.getAccount(id)?.active,
    });
  }
  const expected = new Map(setup.simulator.listIds().map((id) => [id, setup.simulator.getAccount(id)]));
  setup.simulator.setFault({ type: "latency", ms: 60 });

  const sync = syncInChildProcess();
  // Wait until the child has committed at least one batch, then kill it without warning.
  for (let waited = 0; waited < 20_000; waited += 20) {
    const running = await setup.prisma.syncRun.findFirst({ where: { status: "running" } });
    if (running && running.accountsTotal >= 2) break;
    await sleep(20);
  }
  sync.child.kill("SIGKILL");
  await sync.exited;

  const killed = await setup.prisma.syncRun.findFirstOrThrow({ where: { status: "running" } });
  expect(killed.accountsTotal).toBeGreaterThanOrEqual(2);
  expect(killed.accountsTotal).toBeLessThan(ACCOUNTS);
  expect(killed.accountsTotal % 2).toBe(0);
  // Whole batches only: every drift row belongs to an account whose data was written.
  const halfway = await setup.prisma.account.findMany({ where: { name: { startsWith: "renamed" } } });
  expect(await setup.prisma.accountDrift.count()).toBe(halfway.length * 2);
  // And versions only with them: a second version for exactly the accounts the killed run wrote.
  expect(await setup.prisma.accountVersion.count()).toBe(ACCOUNTS + halfway.length);

  setup.simulator.clearFaults();
  const rerun = await runSync(
    { prisma: setup.prisma, client, logger: logs.logger },
    { trigger: "cli", concurrency: 4, staleRunAfterMs: 0 },
  );

  expect(rerun.status).toBe("succeeded");
  expect(await setup.prisma.syncRun.findUniqueOrThrow({ where: { id: killed.id } })).toMatchObject({
    status: "failed",
  });
  for (const id of setup.simulator.listIds()) {
    expect(await setup.prisma.account.findUniqueOrThrow({ where: { id } })).toMatchObject(
      expected.get(id) ?? {},
    );
  }
  const perField = await setup.prisma.accountDrift.groupBy({ by: ["accountId", "field"], _count: true });
  expect(perField).toHaveLength(ACCOUNTS * 2);
  expect(perField.every((group) => group._count === 1)).toBe(true);
  // Each account: its first version, closed where the renamed one begins (at its drift rows' instant),
  // which is current and holds the account's values.
  for (const id of setup.simulator.listIds()) {
    const versions = await setup.prisma.accountVersion.findMany({
      where: { accountId: id },
      orderBy: { validFrom: "asc" },
    });
    const drift = await setup.prisma.accountDrift.findFirstOrThrow({ where: { accountId: id } });
    expect(versions.map((version) => version.validTo)).toEqual([drift.detectedAt, null]);
    expect(versions[1]).toMatchObject({ validFrom: drift.detectedAt, exists: true, ...expected.get(id) });
  }
});
