export { type HealthServer, startHealthServer } from "./http-server.js";
export { createMetrics } from "./metrics.js";
