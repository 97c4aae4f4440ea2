export { type AccessDecision, decideAccess, isLoopbackAddress } from "./access.js";
export { type JobCounts, type StatusRoutes, statusRoutes } from "./routes.js";
