// What one attempt's outcome means: an account, a failure that no retry can mend, or a retry after a
// delay. Pure, so that every answer can be tested without a server; retry-loop.ts acts on it.
import {
  type PlugchatError,
  PlugchatInvalidResponseError,
  PlugchatNotFoundError,
  PlugchatUnauthorizedError,
  PlugchatUnavailableError,
} from "./errors.js";
import type { AttemptResult } from "./http-request.js";
import { type ExtraFields, type PlugchatAccount, parseAccountBody } from "./response.js";
import { type AttemptFailure, decideRetry, type RetryDecision, type RetryPolicy } from "./retry-policy.js";

export interface FetchedAccount {
  account: PlugchatAccount;
  /** Fields Plugchat sent that the client does not know: a hint that the API has grown. */
  unknownFields: string[];
  /** Those fields' values, as kept in `accounts.extra`. */
  extra: ExtraFields;
  attempts: number;
}

export type AttemptVerdict =
  | { type: "account"; fetched: FetchedAccount }
  | { type: "failed"; error: PlugchatError }
  | { type: "retry"; status: number | null; code: string | null; delayMs: number };

export interface AttemptContext {
  accountId: string;
  /** The 1-based number of the attempt judged. */
  attempt: number;
  policy: RetryPolicy;
  /** The current time and a number in [0, 1) for the retry delay's jitter; given by tests. */
  nowMs?: number;
  random?: number;
}

export function judgeAttempt(result: AttemptResult, context: AttemptContext): AttemptVerdict {
  const { accountId, attempt: attempts } = context;
  switch (result.type) {
    case "body": {
      const parsed = parseAccountBody(result.body);
      if (parsed.ok) {
        return {
          type: "account",
          fetched: {
            account: parsed.account,
            unknownFields: parsed.unknownFields,
            extra: parsed.extra,
            attempts,
          },
        };
      }
      const { problem, field } = parsed;
      const status = result.status;
      return failed(new PlugchatInvalidResponseError({ accountId, status, attempts, problem, field }));
    }
    case "refused": {
      const { status, problem } = result;
      return failed(new PlugchatInvalidResponseError({ accountId, status, attempts, problem }));
    }
    case "network": {
      const { code } = result;
      const decision = retryDecision({ code }, context);
      if (decision.retry) return { type: "retry", status: null, code, delayMs: decision.delayMs };
      return failed(new PlugchatUnavailableError({ accountId, status: null, code, attempts }));
    }
    case "status":
      return judgeStatus(result.status, result.retryAfter, context);
  }
}

/** An answer that is neither a success nor a redirect. */
function judgeStatus(status: number, retryAfter: string | null, context: AttemptContext): AttemptVerdict {
  const { accountId, attempt: attempts } = context;
  if (status === 401 || status === 403) {
    return failed(new PlugchatUnauthorizedError(accountId, status, attempts));
  }
  if (status === 404) return failed(new PlugchatNotFoundError(accountId, attempts));
  const decision = retryDecision({ status, retryAfter }, context);
  if (decision.retry) return { type: "retry", status, code: null, delayMs: decision.delayMs };
  const problem = `unexpected HTTP ${status}`;
  return failed(new PlugchatInvalidResponseError({ accountId, status, attempts, problem }));
}

function retryDecision(failure: AttemptFailure, context: AttemptContext): RetryDecision {
  return decideRetry(failure, context.attempt, context.policy, context.nowMs, context.random);
}

function failed(error: PlugchatError): AttemptVerdict {
  return { type: "failed", error };
}
