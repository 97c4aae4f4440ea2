import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite has its own config and command (npm run test:faults).
    exclude: ["test/faults/**", "**/node_modules/**"],
    environment: "node",
    // One file per core, not Vitest's default of one fewer: the tests mostly wait on PostgreSQL, Redis
    // and the processes they start, so on a 2-core machine two files at once took the suite from about
    // 615 s to 410 s. Each file has its own databases, queue prefixes and ports.
    maxWorkers: availableParallelism(),
    // In order: refuse a build older than src/; the PostgreSQL of TEST_DATABASE_ADMIN_URL, or an
    // embedded one when none answers (and CI is not set); the migrated database that test databases
    // are copied from; whether a Redis answers.
    globalSetup: [
      "test/helpers/fresh-build.ts",
      "test/helpers/database-server.ts",
      "test/helpers/database-template.ts",
      "test/helpers/redis-setup.ts",
    ],
    // Integration tests talk to the real Postgres and Redis; give slow machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { TZ: "UTC" },
  },
});
