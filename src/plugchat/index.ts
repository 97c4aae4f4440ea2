export { assertValidAccountId, isValidAccountId } from "./account-id.js";
export type { FetchedAccount } from "./attempt-verdict.js";
export type { AttemptInfo, PlugchatClient, PlugchatClientOptions } from "./client.js";
export { createPlugchatClient } from "./client.js";
export {
  PlugchatError,
  type PlugchatErrorKind,
  PlugchatInvalidAccountIdError,
  PlugchatInvalidResponseError,
  PlugchatNotFoundError,
  PlugchatUnauthorizedError,
  PlugchatUnavailableError,
} from "./errors.js";
export { createRateLimiter, type RateLimiter } from "./rate-limiter.js";
export type { PlugchatAccount } from "./response.js";
export {
  type AttemptFailure,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  isRetryableStatus,
  parseRetryAfter,
  type RetryDecision,
  type RetryPolicy,
} from "./retry-policy.js";
