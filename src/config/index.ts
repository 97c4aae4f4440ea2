export {
  type Config,
  DEFAULT_METRICS_PORT,
  loadConfig,
  parseConfig,
  requirePlugchatToken,
} from "./config.js";
export { defaultDataDir } from "./data-dir.js";
export type { QueueBackendName } from "./environment.js";
export { ConfigError } from "./problems.js";
