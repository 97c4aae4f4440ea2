// The contract of the global rate limiter, run on each of its stores (Redis, PostgreSQL): what a
// worker relies on whichever backend holds its queues. Each store's own cases are in
// redis-rate-limiter.test.ts and postgres-rate-limiter.test.ts.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { RateLimiter } from "../../src/plugchat/rate-limiter.js";
import { RateLimiterUnavailableError } from "../../src/queue/backend/rate-limit-deadline.js";
import { collect, gaps, waitForLine, wallNow } from "../helpers/rate-limiter-processes.js";
import { describeOnEachBackend } from "./backends.js";
import { startTcpProxy } from "./helpers.js";
import { useLimiterStore } from "./rate-limiter-stores.js";

// Node timers may fire up to about a millisecond early.
const TIMER_SLACK_MS = 2;
// Between two consecutive grants, more: a grant whose timer fires late (a busy machine, the whole suite
// running) comes closer to the next one, and answers from the store arrive a little unevenly. Grants of
// limiters that did not share the schedule would come about 0 ms apart.
const GAP_SLACK_MS = 30;
// "Without hanging": an acquire that gives up at its deadline does so within this much more.
const GIVE_UP_SLACK_MS = 1_000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
}

describeOnEachBackend("the global rate limiter", (kind) => {
  const store = useLimiterStore(kind);

  it("spaces the grants of two connections sharing a key 1/maxRps apart", async () => {
    const key = store.uniqueKey();
    const first = await store.limiter({ key, maxRps: 20 }, 6);
    const second = await store.limiter({ key, maxRps: 20 }, 6);
    const startedAt = performance.now();
    const granted: number[] = [];
    const take = (limiter: RateLimiter) =>
      limiter.acquire().then(() => granted.push(performance.now() - startedAt));
    await Promise.all([
      ...Array.from({ length: 6 }, () => take(first)),
      ...Array.from({ length: 6 }, () => take(second)),
    ]);
    granted.sort((a, b) => a - b);
    expect(granted).toHaveLength(12);
    // Lower bounds only. Every pair of consecutive grants, whichever connection got them, is 50 ms apart...
    for (const gap of gaps(granted)) expect(gap).toBeGreaterThanOrEqual(50 - GAP_SLACK_MS);
    // ...and the k-th grant comes no sooner than k intervals after the first request.
    granted.forEach((at, k) => {
      expect(at).toBeGreaterThanOrEqual(k * 50 - TIMER_SLACK_MS);
    });
  });

  it("spaces the grants of two Node processes sharing a key", async () => {
    const key = store.uniqueKey();
    const workDir = await mkdtemp(join(tmpdir(), "plugchat-sync-limiter-"));
    try {
      const child = spawn(process.execPath, await store.childProcess(workDir, key, 20, 5), {
        stdio: ["pipe", "pipe", "inherit"],
      });
      const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
      const output = collect(child.stdout);
      await waitForLine(output, "ready");

      const limiter = await store.limiter({ key, maxRps: 20 }, 5);
      child.stdin.write("go\n");
      const mine: number[] = [];
      await Promise.all(Array.from({ length: 5 }, () => limiter.acquire().then(() => mine.push(wallNow()))));

      expect(await exited).toBe(0);
      const theirs = JSON.parse(
        output
          .text()
          .split("\n")
          .find((line) => line.startsWith("[")) ?? "[]",
      );
      expect(theirs).toHaveLength(5);
      // The wall clocks of two Node processes of one machine agree to well under a millisecond or two.
      for (const gap of gaps([...mine, ...theirs])) expect(gap).toBeGreaterThanOrEqual(50 - GAP_SLACK_MS - 2);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });

  it("keeps the schedules of separate keys independent", async () => {
    const mine = await store.limiter({ key: store.uniqueKey(), maxRps: 1 });
    const theirs = await store.limiter({ key: store.uniqueKey(), maxRps: 1 });
    await mine.acquire();
    // Sharing mine's schedule, theirs would wait about a second for the next slot: it is granted
    // before mine's next one.
    const order: string[] = [];
    await Promise.all([
      mine.acquire().then(() => order.push("mine")),
      theirs.acquire().then(() => order.push("theirs")),
    ]);
    expect(order).toEqual(["theirs", "mine"]);
  });

  it("makes no call to its store at all when maxRps is 0", async () => {
    const { limiter, expectUntouched } = await store.unlimited(store.uniqueKey());
    await Promise.all(Array.from({ length: 100 }, () => limiter.acquire()));
    await expectUntouched();
  });

  it("stops waiting for its slot with the signal's reason when aborted", async () => {
    const limiter = await store.limiter({ key: store.uniqueKey(), maxRps: 1 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    const reason = new Error("run cancelled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(waiting).rejects.toBe(reason);
  });

  it("fails the acquire with a clear error, without hanging, when its store is unreachable", async () => {
    const limiter = await store.unreachable({ key: store.uniqueKey(), maxRps: 10, timeoutMs: 300 });
    const startedAt = performance.now();
    const error = await rejection(limiter.acquire());
    const elapsed = performance.now() - startedAt;
    expect(error).toBeInstanceOf(RateLimiterUnavailableError);
    expect((error as Error).message).toMatch(store.unreachableMessage);
    expect(elapsed).toBeGreaterThanOrEqual(300 - TIMER_SLACK_MS);
    expect(elapsed).toBeLessThan(300 + GIVE_UP_SLACK_MS);
  });

  it("waits for its store coming back within the timeout", async () => {
    const proxy = await startTcpProxy(store.serverPort());
    try {
      proxy.cut();
      const { limiter, connected } = store.through(proxy.port, {
        key: store.uniqueKey(),
        maxRps: 10,
        timeoutMs: 10_000,
      });
      const acquired = limiter.acquire();
      acquired.catch(() => undefined); // asserted below; a failure before then is no unhandled rejection
      // The store "comes back" 300 ms later, after refused attempts.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(proxy.attempts()).toBeGreaterThan(1);
      expect(connected()).not.toBe(true);
      proxy.restore();
      await expect(acquired).resolves.toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it("fails at once when its connection was closed", async () => {
    const limiter = await store.closed({ key: store.uniqueKey(), maxRps: 10, timeoutMs: 60_000 });
    await expect(limiter.acquire()).rejects.toThrow(store.closedMessage);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses maxRps %s", (maxRps) => {
    expect(() => store.unusedLimiter({ key: "k", maxRps })).toThrow(RangeError);
  });
});
