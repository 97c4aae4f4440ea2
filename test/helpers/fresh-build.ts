// Vitest global setup: tests import src/ but also run the built CLI (the bundle in dist/, made from
// tsc's output in build/), so a build older than the sources would test old code without a word. This
// refuses to start then, in one line. `npm test` builds first; a stat of each source is cheap next to
// a build (~30 s) on every run.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const SOURCES = "src";
const BUILD = "build";
const BUNDLE = "dist/cli/main.js";

/** The first source file changed after its build output was written (or that has none), if any. */
export function staleSource(root = process.cwd()): string | undefined {
  const sources = readdirSync(join(root, SOURCES), { recursive: true, withFileTypes: true }).filter(
    (entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"),
  );
  const bundled = statSync(join(root, BUNDLE), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  for (const entry of sources) {
    const source = join(entry.parentPath, entry.name);
    const output = join(root, BUILD, relative(join(root, SOURCES), source)).replace(/\.ts$/, ".js");
    const built = statSync(output, { throwIfNoEntry: false });
    const changed = statSync(source).mtimeMs;
    if (built === undefined || built.mtimeMs < changed || bundled < changed) return relative(root, source);
  }
  return undefined;
}

export default function setup(): void {
  const stale = staleSource();
  if (stale === undefined) return;
  const error = new Error(
    `the build (${BUILD}/, ${BUNDLE}) is older than ${stale} (the tests run the built CLI): run \`npm run build\` first, or \`npm test\`, which builds`,
  );
  error.stack = error.message; // the line says it all: no stack under it
  throw error;
}
