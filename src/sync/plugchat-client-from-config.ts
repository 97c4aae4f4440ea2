import { type Config, requirePlugchatToken } from "../config/index.js";
import type { Logger } from "../logger.js";
import { createPlugchatClient, type PlugchatClient } from "../plugchat/index.js";

/** The Plugchat client as configured by the environment; fails clearly when no token is set. */
export function plugchatClientFromConfig(config: Config, logger: Logger): PlugchatClient {
  return createPlugchatClient({
    baseUrl: config.plugchatBaseUrl,
    token: requirePlugchatToken(config).reveal(),
    timeoutMs: config.httpTimeoutMs,
    maxAttempts: config.syncMaxAttempts,
    maxRps: config.plugchatMaxRps,
    retryAfterMaxMs: config.retryAfterMaxMs,
    logger,
  });
}
