export { type HealthServer, startHealthServer } from "./http-server.js";
export { createMetrics, type Metrics } from "./metrics.js";
