export {
  type Config,
  ConfigError,
  type DataDirPlatform,
  DEFAULT_METRICS_PORT,
  DEFAULTS,
  defaultDataDir,
  LOG_LEVELS,
  type LogLevel,
  loadConfig,
  parseConfig,
  QUEUE_BACKENDS,
  type QueueBackendName,
  requirePlugchatToken,
  SETTINGS,
} from "./config.js";
export { Secret } from "./secret.js";
