export {
  type Config,
  ConfigError,
  DEFAULTS,
  LOG_LEVELS,
  type LogLevel,
  loadConfig,
  parseConfig,
  requirePlugchatToken,
} from "./config.js";
export { Secret } from "./secret.js";
