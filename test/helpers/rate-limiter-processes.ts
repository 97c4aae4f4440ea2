// Shared by the tests of the global rate limiters (Redis, PostgreSQL): a second Node process using a
// plain-JS copy of a limiter, and the timing arithmetic of their assertions.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** Modules of a limiter that has no run-time import but these (and `import type`s). */
export const LIMITER_RUNTIME_SOURCES = [
  "lib/sleep.ts",
  "queue/backend/rate-limit-deadline.ts",
  "db/sql/queue.ts",
];

/**
 * Writes plain-JS copies of `sources` (paths under src/, transpiled with TypeScript as the build would)
 * into `workDir`, at the same relative paths, as ES modules.
 */
export async function writeTranspiledCopies(workDir: string, sources: string[]): Promise<void> {
  for (const source of sources) {
    const text = await readFile(fileURLToPath(new URL(`../../src/${source}`, import.meta.url)), "utf8");
    const { outputText } = ts.transpileModule(text, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = join(workDir, source.replace(/\.ts$/, ".js"));
    await mkdir(join(target, ".."), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(workDir, "package.json"), '{ "type": "module" }');
}

export function collect(stream: NodeJS.ReadableStream): { text(): string } {
  let text = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    text += chunk;
  });
  return { text: () => text };
}

export async function waitForLine(output: { text(): string }, line: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!output.text().split("\n").includes(line)) {
    if (Date.now() > deadline) throw new Error(`the child process never printed "${line}"`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Wall-clock time in fractional milliseconds, comparable between processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The gaps between consecutive times, once sorted. */
export function gaps(times: number[]): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.slice(1).map((time, i) => time - (sorted[i] as number));
}
