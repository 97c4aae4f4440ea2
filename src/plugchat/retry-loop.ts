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
  { accountId, maxAttempts, signal, logger }: RetryLoopOptions,
): Promise<FetchedAccount> {
  try {
    return await pRetry(async (attemptNumber) => actOn(await attempt(attemptNumber), attemptNumber), {
      retries: maxAttempts - 1,
      // The verdict chooses each delay; it is slept in onFailedAttempt.
      minTimeout: 0,
      signal,
      shouldRetry: ({ error }) => error instanceof RetryableAttempt,
      onFailedAttempt: async ({ error, retriesLeft }) => {
        if (!(error instanceof RetryableAttempt) || retriesLeft === 0) return;
        const { status, code, delayMs } = error;
        // At debug: in an outage every request retries; the outage itself is said once (outage-gate.ts).
        logger.debug(
          { accountId, attempt: error.attempt, ...(code === null ? { status } : { code }), delayMs },
          "plugchat request retry",
        );
        await sleep(delayMs, signal);
      },
    });
  } catch (error) {
    if (!(error instanceof RetryableAttempt)) throw error;
    const { status, code, attempt: attempts } = error;
    throw new PlugchatUnavailableError({ accountId, status, code, attempts });
  }
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
