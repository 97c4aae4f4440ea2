export {
  DEFAULT_CHECK_TIMEOUT_MS,
  type HealthServer,
  type HealthServerOptions,
  type ReadinessCheck,
  startHealthServer,
} from "./http-server.js";
export { createMetrics, type Metrics, type MetricsOptions, type QueueDepthSource } from "./metrics.js";
