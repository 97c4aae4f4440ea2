export {
  type Config,
  DEFAULT_METRICS_PORT,
  loadConfig,
  parseConfig,
  requirePlugchatToken,
} from "./config.js";
export { type DataDirPlatform, defaultDataDir } from "./data-dir.js";
export { LOG_LEVELS, type LogLevel, QUEUE_BACKENDS, type QueueBackendName } from "./environment.js";
export { ConfigError } from "./problems.js";
export { Secret } from "./secret.js";
