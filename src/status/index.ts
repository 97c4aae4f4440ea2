export { statusRoutes } from "./routes.js";
