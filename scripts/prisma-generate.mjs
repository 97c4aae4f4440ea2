#!/usr/bin/env node
// Runs `prisma generate` without network access.
// The Prisma CLI insists on finding its native schema engine before `generate`, and tries to download
// it otherwise; `generate` never runs that engine, so any existing file satisfies the check. The
// variable is set here only, never in prisma.config.ts, so that `prisma migrate deploy` on a machine
// with internet access still uses the real engine.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const prismaCli = require.resolve("prisma/build/index.js");
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
env.CHECKPOINT_DISABLE = "1";

const result = spawnSync(process.execPath, [prismaCli, "generate"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
