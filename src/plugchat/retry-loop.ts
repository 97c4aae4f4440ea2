// The retry loop (p-retry) around the attempts at one account: it acts on each attempt's verdict,
// waits the delay the verdict chose (Retry-After or backoff), and logs each retry.
import pRetry, { AbortError } from "p-retry";
import { sleep } from "../lib/sleep.js";
import type { Logger } from "../logger.js";
import type { AttemptVerdict, FetchedAccount } from "./attempt-verdict.js";
import { PlugchatUnavailableError } from "./errors.js";

interface RetryLoopOptions {
  accountId: string;
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  signal?: AbortSignal | undefined;
  logger: Logger;
}

/** An attempt whose verdict is "retry": the only error that goes round p-retry's loop. */
class RetryableAttempt extends Error {
  constructor(
    readonly attempt: number,
    readonly status: number | null,
    readonly code: string | null,
    readonly delayMs: number,
  ) {
    super("retryable Plugchat attempt");
  }
}

/**
 * Makes attempts until one gives an account or a final failure, or `maxAttempts` are spent (then a
 * `PlugchatUnavailableError` names the last one). Rejects with `signal.reason` when the caller aborts.
 */
export async function retryAttempts(
  attempt: (attemptNumber: number) => Promise<AttemptVerdict>,
  options: RetryLoopOptions,
): Promise<FetchedAccount> {
  const { maxAttempts, signal } = options;
  // The first attempt runs outside p-retry: almost every account answers it, and p-retry's set-up (its
  // options copied and checked, a promise per attempt) cost more CPU than the verdict it waits for.
  signal?.throwIfAborted();
  const first = await attempt(1);
  signal?.throwIfAborted();
  if (first.type === "account") return first.fetched;
  if (first.type === "failed") throw first.error;
  const retryable = new RetryableAttempt(1, first.status, first.code, first.delayMs);
  if (maxAttempts === 1) throw unavailable(retryable, options);
  await waitBeforeRetry(retryable, options);
  try {
    return await pRetry(async (number) => actOn(await attempt(number + 1), number + 1), {
      retries: maxAttempts - 2,
      // The verdict chooses each delay; it is slept in onFailedAttempt.
      minTimeout: 0,
      signal,
      shouldRetry: ({ error }) => error instanceof RetryableAttempt,
      onFailedAttempt: async ({ error, retriesLeft }) => {
        if (error instanceof RetryableAttempt && retriesLeft > 0) await waitBeforeRetry(error, options);
      },
    });
  } catch (error) {
    if (!(error instanceof RetryableAttempt)) throw error;
    throw unavailable(error, options);
  }
}

/** Logs the retry to come and sleeps the delay its verdict chose. */
async function waitBeforeRetry(
  { attempt, status, code, delayMs }: RetryableAttempt,
  { accountId, signal, logger }: RetryLoopOptions,
): Promise<void> {
  // At debug: in an outage every request retries; the outage itself is said once (outage-gate.ts).
  logger.debug(
    { accountId, attempt, ...(code === null ? { status } : { code }), delayMs },
    "plugchat request retry",
  );
  await sleep(delayMs, signal);
}

function unavailable({ status, code, attempt }: RetryableAttempt, { accountId }: RetryLoopOptions) {
  return new PlugchatUnavailableError({ accountId, status, code, attempts: attempt });
}

/**
 * A verdict in p-retry's terms: a value ends the loop; an AbortError stops it, and p-retry rethrows the
 * error it wraps unchanged; a RetryableAttempt asks for another attempt.
 */
function actOn(verdict: AttemptVerdict, attemptNumber: number): FetchedAccount {
  switch (verdict.type) {
    case "account":
      return verdict.fetched;
    case "failed":
      throw new AbortError(verdict.error);
    case "retry":
      throw new RetryableAttempt(attemptNumber, verdict.status, verdict.code, verdict.delayMs);
  }
}
