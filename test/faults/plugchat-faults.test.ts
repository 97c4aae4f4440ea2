// Plugchat misbehaving, as seen by a real sync: transient errors at random on 30% of requests, 1% of
// accounts failing for good, and a burst of 429 with Retry-After. Every scenario checks what ended up
// in PostgreSQL against what the simulator holds.
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  drawRandomFault,
  mulberry32,
  type Simulator,
  type SimulatorFault,
  simulatedAccountId,
  startSimulator,
} from "../../src/simulator/index.js";
import { compareWithPlugchat, FAULT_TOKEN, recordScenarioResult } from "./support.js";
import { differingFields, readStoredAccounts, syncHarness } from "./sync-harness.js";

/** Random faults and the choice of failing accounts follow this seed: FAULT_SEED=<n> replays a run. */
const SEED = Number(process.env.FAULT_SEED ?? randomInt(1, 2 ** 31 - 1));
const ACCOUNTS = 5_000;
const ids = Array.from({ length: ACCOUNTS }, (_, i) => simulatedAccountId(i + 1));

const TRANSIENT: readonly SimulatorFault[] = [
  { type: "status", status: 500 },
  { type: "status", status: 503 },
  { type: "reset" },
  { type: "hang" },
];
/** Long enough for an answer on a loaded machine, short enough that 500 hangs per run cost seconds. */
const TIMEOUT_MS = 250;
/**
 * With 30% of requests failing, an account fails every one of 20 attempts with probability
 * 0.3^20 = 3.5e-11, so some account of 5,000 does with probability 1.7e-7: a run that is not
 * `succeeded` means lost retries, not bad luck. (10 attempts would leave a 3% chance per run.)
 */
const TRANSIENT_ATTEMPTS = 20;
const PERMANENT_ATTEMPTS = 4;

let simulator: Simulator;

beforeAll(async () => {
  simulator = await startSimulator({ token: FAULT_TOKEN, accounts: ACCOUNTS });
});

afterAll(async () => {
  await simulator?.close();
});

describe(`Plugchat faults (seed ${SEED}: FAULT_SEED=${SEED} replays them)`, () => {
  it("30% of requests failing at random (500, 503, reset, timeout): two 5,000-account runs succeed and store every account and every change exactly once", async () => {
    simulator.clearFaults();
    simulator.resetStats();
    const h = await syncHarness("30% transient Plugchat errors", simulator);
    try {
      await h.track(ids);
      const client = h.client({ timeoutMs: TIMEOUT_MS, maxAttempts: TRANSIENT_ATTEMPTS });

      simulator.setRandomFaults({ rate: 0.3, faults: TRANSIENT, seed: SEED });
      const first = await h.sync({ client });
      const firstMismatches = await compareWithPlugchat(h.db.url, ids, (id) => simulator.getAccount(id));

      // Every 10th account changes its name to a value never seen before, so each change must be
      // recorded exactly once.
      const renamed = ids.filter((_, i) => i % 10 === 3);
      for (const id of renamed) simulator.setAccount(id, { name: `renamed ${id} seed ${SEED}` });
      simulator.setRandomFaults({ rate: 0.3, faults: TRANSIENT, seed: SEED + 1 });
      const second = await h.sync({ client });
      simulator.setRandomFaults(undefined);
      const secondMismatches = await compareWithPlugchat(h.db.url, ids, (id) => simulator.getAccount(id));

      const injected = simulator.faultsInjected();
      const requests = simulator.requestCount();
      const mismatches = [...firstMismatches, ...secondMismatches];
      const duplicates = await recordScenarioResult(h.db.url, {
        scenario: "30% transient Plugchat errors",
        faultsInjected: injected.total,
        runs: 2,
        accountsChecked: 2 * ACCOUNTS,
        mismatches: mismatches.length,
      });

      expect(mismatches.slice(0, 5)).toEqual([]);
      expect(duplicates).toBe(0);
      expect(first).toMatchObject({
        status: "succeeded",
        accountsTotal: ACCOUNTS,
        accountsChanged: ACCOUNTS,
      });
      expect(second).toMatchObject({
        status: "succeeded",
        accountsTotal: ACCOUNTS,
        accountsFailed: 0,
        accountsChanged: renamed.length,
        driftCount: renamed.length,
      });
      expect(await h.prisma.accountDrift.count()).toBe(renamed.length);
      // The faults were really there: about 30% of all requests, of every kind.
      expect(injected.total / requests).toBeGreaterThan(0.27);
      expect(injected.total / requests).toBeLessThan(0.33);
      expect(Object.keys(injected.byType).sort()).toEqual(["hang", "reset", "status"]);
      expect(h.logs.withMessage("plugchat request retry").length).toBeGreaterThanOrEqual(injected.total);
    } finally {
      await h.close();
    }
  });

  it("1% of accounts failing on every attempt: exactly those end failed, with their last good values kept, and every other account is stored exactly", async () => {
    simulator.clearFaults();
    const h = await syncHarness("1% permanent Plugchat errors", simulator);
    try {
      await h.track(ids);
      // A longer timeout than in the 30% scenario: here a healthy account gets few attempts, and a
      // loaded machine must not make it time out on each of them. Batches of 1,000: a batch lasts
      // as long as its slowest account, a hanging one 4 × 500 ms.
      const client = h.client({ timeoutMs: 2 * TIMEOUT_MS, maxAttempts: PERMANENT_ATTEMPTS });
      const baseline = await h.sync({ client, batchSize: 1_000 });
      const baselineMismatches = await compareWithPlugchat(h.db.url, ids, (id) => simulator.getAccount(id));
      const before = new Map(ids.map((id) => [id, simulator.getAccount(id)]));

      // 50 accounts chosen by the seed fail for good, each with one of the transient faults (so each
      // is retried until its attempts run out); 250 accounts change, half of the failing ones among them.
      const random = mulberry32(SEED);
      const shuffled = ids.map((id) => ({ id, key: random() })).sort((a, b) => a.key - b.key);
      const doomed = shuffled.slice(0, ACCOUNTS / 100).map((entry) => entry.id);
      const changed = [...doomed.filter((_, i) => i % 2 === 0), ...shuffled.slice(100, 325).map((e) => e.id)];
      for (const id of changed) simulator.setAccount(id, { externalId: `moved ${id} seed ${SEED}` });
      simulator.resetStats();
      doomed.forEach((id, i) => {
        simulator.setFault(TRANSIENT[i % TRANSIENT.length] as SimulatorFault, { accountId: id });
      });
      const run = await h.sync({ client, batchSize: 1_000 });
      simulator.clearFaults();

      const stored = await readStoredAccounts(h.db.url, ids);
      const failed = ids.filter((id) => stored.get(id)?.status === "failed");
      const doomedSet = new Set(doomed);
      const healthy = ids.filter((id) => !doomedSet.has(id));
      const healthyMismatches = await compareWithPlugchat(h.db.url, healthy, (id) =>
        simulator.getAccount(id),
      );
      const keptMismatches = doomed.flatMap((id) => {
        const expected = before.get(id);
        return expected
          ? differingFields(stored.get(id)?.account, expected).map((field) => ({ id, field }))
          : [];
      });
      const wrongFailures = [
        ...failed.filter((id) => !doomedSet.has(id)),
        ...doomed.filter((id) => stored.get(id)?.status !== "failed"),
      ];
      const mismatches = baselineMismatches.length + healthyMismatches.length + keptMismatches.length;
      const duplicates = await recordScenarioResult(h.db.url, {
        scenario: "1% permanent Plugchat errors",
        faultsInjected: simulator.faultsInjected().total,
        runs: 2,
        accountsChecked: 2 * ACCOUNTS,
        mismatches: mismatches + wrongFailures.length,
      });

      expect(wrongFailures).toEqual([]);
      expect({ baselineMismatches, healthyMismatches, keptMismatches }).toEqual({
        baselineMismatches: [],
        healthyMismatches: [],
        keptMismatches: [],
      });
      expect(duplicates).toBe(0);
      expect(baseline.status).toBe("succeeded");
      const changedHealthy = changed.filter((id) => !doomedSet.has(id)).length;
      expect(run).toMatchObject({
        status: "partial",
        accountsFailed: doomed.length,
        accountsChanged: changedHealthy,
        driftCount: changedHealthy,
      });
      for (const id of doomed) {
        const account = stored.get(id);
        expect(account?.error).toMatch(
          new RegExp(
            `^Plugchat is unavailable for account ${id}: (HTTP 500|HTTP 503|ECONNRESET|TIMEOUT) after ${PERMANENT_ATTEMPTS} attempts$`,
          ),
        );
        expect(account?.consecutiveFailures).toBe(1);
        // Retried until the attempts ran out, and no further.
        expect(simulator.requestCount(id)).toBe(PERMANENT_ATTEMPTS);
      }
      expect(simulator.faultsInjected().total).toBe(PERMANENT_ATTEMPTS * doomed.length);
    } finally {
      await h.close();
    }
  });

  it("a burst of 429 and 503 with Retry-After: every retry waits at least as long as asked, and the run succeeds", async () => {
    simulator.clearFaults();
    simulator.resetStats();
    const h = await syncHarness("429 burst with Retry-After", simulator);
    const tracked = ids.slice(0, 100);
    try {
      await h.track(tracked);
      const client = h.client({ maxAttempts: 4, retryAfterMaxMs: 5_000 });
      // The first 20 requests get 429 with Retry-After: 1, the next 20 get 503 with Retry-After: 2:
      // with 20 requests in flight, the first wave's retries all meet the second wave.
      simulator.setFault({ type: "status", status: 503, retryAfter: 2 }, { times: 20 });
      simulator.setFault({ type: "status", status: 429, retryAfter: 1 }, { times: 20 });
      const run = await h.sync({ client, concurrency: 20 });

      const requests = simulator.requests();
      const early: string[] = [];
      const late: string[] = [];
      let checked = 0;
      requests.forEach((request, index) => {
        if (request.fault?.type !== "status") return;
        const waitMs = Number(request.fault.retryAfter) * 1000;
        const retry = requests.slice(index + 1).find((next) => next.accountId === request.accountId);
        const gap = retry === undefined ? Number.NaN : retry.at - request.at;
        checked += 1;
        // A few ms of timer jitter; the server stamps arrival, the client measures from its answer.
        if (!(gap >= waitMs - 5)) early.push(`${request.accountId}: ${gap.toFixed(0)} ms < ${waitMs} ms`);
        if (gap > waitMs + 1_000) late.push(`${request.accountId}: ${gap.toFixed(0)} ms`);
      });
      const mismatches = await compareWithPlugchat(h.db.url, tracked, (id) => simulator.getAccount(id));
      const duplicates = await recordScenarioResult(h.db.url, {
        scenario: "429/503 burst with Retry-After",
        faultsInjected: simulator.faultsInjected().total,
        runs: 1,
        accountsChecked: tracked.length,
        mismatches: mismatches.length + early.length,
      });

      expect(early).toEqual([]);
      expect(late).toEqual([]);
      expect(checked).toBe(40);
      expect(mismatches).toEqual([]);
      expect(duplicates).toBe(0);
      expect(run).toMatchObject({ status: "succeeded", accountsTotal: tracked.length, accountsFailed: 0 });
      const retries = h.logs.withMessage("plugchat request retry");
      expect(retries.filter((line) => line.status === 429 && line.delayMs === 1000)).toHaveLength(20);
      expect(retries.filter((line) => line.status === 503 && line.delayMs === 2000)).toHaveLength(20);
    } finally {
      await h.close();
    }
  });

  it("the seed's own draws leave no account failing all its attempts (a sanity check of the 30% scenario's odds)", () => {
    let worst = 0;
    for (const seed of [SEED, SEED + 1]) {
      for (const id of ids) {
        let streak = 0;
        while (
          streak < TRANSIENT_ATTEMPTS &&
          drawRandomFault({ rate: 0.3, faults: TRANSIENT, seed }, id, streak + 1)
        ) {
          streak += 1;
        }
        worst = Math.max(worst, streak);
      }
    }
    expect(worst).toBeLessThan(TRANSIENT_ATTEMPTS);
  });
});
