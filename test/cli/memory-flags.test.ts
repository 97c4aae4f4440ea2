// The V8 flags the commands that run syncs set as they start (src/cli/memory-flags.ts; their effect on memory is a
// benchmark figure, docs/benchmarks.md). V8 prints "unrecognized flag" on stderr for a flag it does
// not know, and a Node upgrade may drop one: then every command's output would carry that line.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";

const FLAGS_MODULE = resolve("build/cli/memory-flags.js");

describe("the V8 flags the CLI sets for a smaller process", () => {
  it.each(["sync", "worker", "demo"])(
    "are all known to this Node's V8: setting those of %s prints nothing",
    (command) => {
      const child = spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `(await import(${JSON.stringify(FLAGS_MODULE)})).useMemoryFlagsFor(${JSON.stringify(command)});`,
        ],
        { encoding: "utf8" },
      );
      expect(child.status).toBe(0);
      expect(child.stderr).toBe("");
      expect(child.stdout).toBe("");
    },
  );

  it("keep the young generation small in the worker only, which lives on between runs", () => {
    const semiSpaceFlag = (command: string) =>
      spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { getHeapSpaceStatistics } from "node:v8";
           (await import(${JSON.stringify(FLAGS_MODULE)})).useMemoryFlagsFor(${JSON.stringify(command)});
           const keep = []; for (let i = 0; i < 400000; i++) keep.push({ i, s: "x".repeat(i % 50) });
           const young = getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
           console.log(young.space_size);`,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    expect(Number(semiSpaceFlag("worker"))).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(Number(semiSpaceFlag("sync"))).toBeGreaterThan(2 * 1024 * 1024);
  });

  it("leave a syncing command's output as it was: `sync --help` prints its help alone", async () => {
    const result = await runCli(["sync", "--help"], inheritedEnv());
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^Usage: plugchat-sync sync /);
  });
});
