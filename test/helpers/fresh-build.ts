// Vitest global setup: tests import src/ but also run the built CLI (dist/), so a build older than
// the sources would test old code without a word. This refuses to start then, in one line. `npm test`
// builds first; a stat of each source is cheap next to a build (~30 s) on every run.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const SOURCES = "src";
const BUILD = "dist";

/** The first source file changed after its build output was written (or that has none), if any. */
export function staleSource(root = process.cwd()): string | undefined {
  const sources = readdirSync(join(root, SOURCES), { recursive: true, withFileTypes: true }).filter(
    (entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"),
  );
  for (const entry of sources) {
    const source = join(entry.parentPath, entry.name);
    const output = join(root, BUILD, relative(join(root, SOURCES), source)).replace(/\.ts$/, ".js");
    const built = statSync(output, { throwIfNoEntry: false });
    if (built === undefined || built.mtimeMs < statSync(source).mtimeMs) return relative(root, source);
  }
  return undefined;
}

export default function setup(): void {
  const stale = staleSource();
  if (stale === undefined) return;
  const error = new Error(
    `${BUILD}/ is older than ${stale} (the tests run the built CLI): run \`npm run build\` first, or \`npm test\`, which builds`,
  );
  error.stack = error.message; // the line says it all: no stack under it
  throw error;
}
