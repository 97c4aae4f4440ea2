import { type Config, requirePlugchatToken } from "../config/index.js";
import type { Logger } from "../logger.js";
import {
  type AttemptInfo,
  createPlugchatClient,
  type PlugchatClient,
  type RateLimiter,
} from "../plugchat/index.js";

export interface PlugchatClientExtras {
  /** Replaces the in-process cap of PLUGCHAT_MAX_RPS, e.g. with one shared by every worker process. */
  rateLimiter?: RateLimiter;
  /** Called after every HTTP attempt, e.g. to feed metrics. */
  onAttempt?: (info: AttemptInfo) => void;
}

/** The Plugchat client as configured by the environment; fails clearly when no token is set. */
export function plugchatClientFromConfig(
  config: Config,
  logger: Logger,
  extras: PlugchatClientExtras = {},
): PlugchatClient {
  return createPlugchatClient({
    baseUrl: config.plugchatBaseUrl,
    token: requirePlugchatToken(config).reveal(),
    timeoutMs: config.httpTimeoutMs,
    maxAttempts: config.syncMaxAttempts,
    maxRps: config.plugchatMaxRps,
    retryAfterMaxMs: config.retryAfterMaxMs,
    logger,
    ...(extras.rateLimiter ? { rateLimiter: extras.rateLimiter } : {}),
    ...(extras.onAttempt ? { onAttempt: extras.onAttempt } : {}),
  });
}
