#!/usr/bin/env node
// Runs `prisma generate` without network access, then has the client read its query compiler from a
// .wasm file.
//
// The Prisma CLI insists on finding its native schema engine before `generate`, and tries to download
// it otherwise; `generate` never runs that engine, so any existing file satisfies the check. The
// variable is set here only, never in prisma.config.ts, so that `prisma migrate deploy` on a machine
// with internet access still uses the real engine.
//
// The generated client imports its query compiler as a module exporting the WebAssembly in base64: V8
// keeps that module's text and its string for as long as the process lives (4.4 MB with the "small"
// build, 8.7 MB with "fast"), a fifth of an idle worker's live heap. The bytes are written beside the
// client instead (`npm run build` copies them into build/ and dist/) and read once; generating fails if Prisma
// changes the code this replaces.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const prismaCli = require.resolve("prisma/build/index.js");
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
env.CHECKPOINT_DISABLE = "1";

const result = spawnSync(process.execPath, [prismaCli, "generate"], { stdio: "inherit", env });
if (result.status !== 0) process.exit(result.status ?? 1);

const CLIENT_CLASS = new URL("../src/generated/prisma/internal/class.ts", import.meta.url);
const BASE64_LOADER =
  /( {2}getQueryCompilerWasmModule: async \(\) => \{\n)\s*const \{ wasm \} = await import\("(@prisma\/client\/runtime\/(query_compiler_\w+_bg\.\w+)\.wasm-base64\.mjs)"\)\n\s*return await decodeBase64AsWasm\(wasm\)\n/;

const source = readFileSync(CLIENT_CLASS, "utf8");
const match = BASE64_LOADER.exec(source);
if (!match) {
  console.error(
    "prisma-generate: the generated client no longer loads its query compiler as this script expects; update BASE64_LOADER in scripts/prisma-generate.mjs",
  );
  process.exit(1);
}
const [, opening, base64Module, compilerName] = match;
const wasmFile = `${compilerName}.wasm`;
const { wasm } = await import(base64Module);
writeFileSync(new URL(wasmFile, CLIENT_CLASS), Buffer.from(wasm, "base64"));
const fileLoader = `${opening}    // Patched by scripts/prisma-generate.mjs: the bytes from a file, not from a base64 module kept in memory.
    const { readFile } = await import("node:fs/promises")
    return new WebAssembly.Module(await readFile(new URL("./${wasmFile}", import.meta.url)))
`;
writeFileSync(CLIENT_CLASS, source.replace(BASE64_LOADER, fileLoader));
