import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import type { AttemptVerdict } from "../../src/plugchat/attempt-verdict.js";
import { PlugchatNotFoundError, PlugchatUnavailableError } from "../../src/plugchat/errors.js";
import { retryAttempts } from "../../src/plugchat/retry-loop.js";

const ID = "acc-00001";
const fetched = { account: {} as never, unknownFields: [], extra: { values: {}, cut: [] }, attempts: 0 };
const retry = (status: number | null, code: string | null): AttemptVerdict => ({
  type: "retry",
  status,
  code,
  delayMs: 1,
});

/** Attempts that give these verdicts in turn, and the attempt numbers they were called with. */
function scripted(verdicts: AttemptVerdict[]) {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (attemptNumber: number) => {
      calls.push(attemptNumber);
      return verdicts[Math.min(calls.length, verdicts.length) - 1] as AttemptVerdict;
    },
  };
}

const options = { accountId: ID, maxAttempts: 3, logger: silentLogger };

describe("the retry loop", () => {
  it("makes attempts until one gives an account", async () => {
    const { calls, attempt } = scripted([
      retry(503, null),
      retry(null, "ECONNRESET"),
      { type: "account", fetched },
    ]);
    await expect(retryAttempts(attempt, options)).resolves.toBe(fetched);
    expect(calls).toEqual([1, 2, 3]);
  });

  it("stops at once on a final failure and rejects with its error", async () => {
    const error = new PlugchatNotFoundError(ID, 1);
    const { calls, attempt } = scripted([{ type: "failed", error }]);
    await expect(retryAttempts(attempt, options)).rejects.toBe(error);
    expect(calls).toEqual([1]);
  });

  it("gives up after maxAttempts with Unavailable naming the last attempt", async () => {
    const { calls, attempt } = scripted([retry(503, null), retry(null, "TIMEOUT")]);
    const rejected = await retryAttempts(attempt, options).catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(PlugchatUnavailableError);
    expect(rejected).toMatchObject({ status: null, code: "TIMEOUT", attempts: 3 });
    expect(calls).toEqual([1, 2, 3]);
  });

  it("rejects with the caller's reason when the signal aborts during a retry delay", async () => {
    const controller = new AbortController();
    const reason = new Error("run cancelled");
    const { calls, attempt } = scripted([{ type: "retry", status: 503, code: null, delayMs: 60_000 }]);
    const pending = retryAttempts(attempt, { ...options, signal: controller.signal });
    while (calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(calls).toEqual([1]);
  });
});
