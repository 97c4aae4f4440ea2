// The worker's young generation between V8's first size and its cap (src/cli/young-generation.ts): what
// a worker with 64 requests in flight spends in the garbage collector, and what an idle worker holds,
// are benchmark figures (docs/benchmarks.md); this checks the cap itself, in a process of its own.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { YOUNG_GENERATION_CAP_BYTES, youngGenerationGrowthFactor } from "../../src/cli/young-generation.js";

const FLAGS_MODULE = resolve("build/cli/memory-flags.js");
const YOUNG_GENERATION_MODULE = resolve("build/cli/young-generation.js");
const MB = 1024 * 1024;

/**
 * The young generation's committed bytes in a process with the worker's flags, after it kept 400,000
 * small objects made over many event-loop turns (as a worker's requests are), with or without the cap.
 */
function youngGenerationAfterAllocating(capped: boolean): number {
  const child = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { getHeapSpaceStatistics } from "node:v8";
       (await import(${JSON.stringify(FLAGS_MODULE)})).useMemoryFlagsFor("worker");
       if (${capped}) (await import(${JSON.stringify(YOUNG_GENERATION_MODULE)})).capYoungGeneration();
       const keep = [];
       for (let turn = 0; turn < 400; turn++) {
         for (let i = 0; i < 1000; i++) keep.push({ i, s: "x".repeat(i % 50) });
         await new Promise((next) => setImmediate(next));
       }
       const young = getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
       console.log(young.space_size);`,
    ],
    { encoding: "utf8" },
  );
  expect(child.stderr).toBe("");
  return Number(child.stdout.trim());
}

describe("the worker's young generation", () => {
  it("grows from its first size up to the cap, and no further", () => {
    const first = youngGenerationAfterAllocating(false);
    const capped = youngGenerationAfterAllocating(true);
    expect(first).toBeLessThanOrEqual(2 * MB);
    expect(capped).toBeGreaterThan(first);
    expect(capped).toBeLessThanOrEqual(YOUNG_GENERATION_CAP_BYTES);
  });

  it("may grow (V8's factor 2) only while under the cap", () => {
    expect(youngGenerationGrowthFactor(2 * MB, 4 * MB)).toBe(2);
    expect(youngGenerationGrowthFactor(4 * MB - 1, 4 * MB)).toBe(2);
    expect(youngGenerationGrowthFactor(4 * MB, 4 * MB)).toBe(1);
    expect(youngGenerationGrowthFactor(32 * MB, 4 * MB)).toBe(1);
  });
});
