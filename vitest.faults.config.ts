import { defineConfig } from "vitest/config";

// The fault suite (npm run test:faults): scenarios that inject faults into Plugchat, the worker
// processes, Postgres and Redis. One file at a time: several restart services or kill processes, and
// their timing must not depend on what another file happens to be doing.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // fresh-build: refuse a build older than src/ (the scenarios run the built CLI); database-template:
    // the migrated database that test databases are copied from; redis-setup: whether a Redis answers
    // for the Redis-backend scenarios (under CI=true it must).
    globalSetup: [
      "test/helpers/fresh-build.ts",
      "test/helpers/database-template.ts",
      "test/helpers/redis-setup.ts",
      "test/faults/global-setup.ts",
    ],
    env: { TZ: "UTC" },
  },
});
