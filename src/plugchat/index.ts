export { assertValidAccountId, isValidAccountId } from "./account-id.js";
export type { AttemptInfo, GetAccountOptions, PlugchatClient, PlugchatClientOptions } from "./client.js";
export { createPlugchatClient } from "./client.js";
export {
  PlugchatError,
  PlugchatInvalidAccountIdError,
  PlugchatInvalidResponseError,
  PlugchatNotFoundError,
  PlugchatUnauthorizedError,
  PlugchatUnavailableError,
} from "./errors.js";
export type { RateLimiter } from "./rate-limiter.js";
export type { PlugchatAccount } from "./response.js";
