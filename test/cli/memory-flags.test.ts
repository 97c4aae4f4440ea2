// The V8 flags the commands that run syncs set as they start (src/cli/memory-flags.ts; their effect on memory is a
// benchmark figure, docs/benchmarks.md). V8 prints "unrecognized flag" on stderr for a flag it does
// not know, and a Node upgrade may drop one: then every command's output would carry that line.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";

const FLAGS_MODULE = resolve("build/cli/memory-flags.js");

describe("the V8 flags the CLI sets for a smaller process", () => {
  it("are all known to this Node's V8: setting them prints nothing", () => {
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `(await import(${JSON.stringify(FLAGS_MODULE)})).useMemoryFlagsFor("sync");`,
      ],
      { encoding: "utf8" },
    );
    expect(child.status).toBe(0);
    expect(child.stderr).toBe("");
    expect(child.stdout).toBe("");
  });

  it("leave a syncing command's output as it was: `sync --help` prints its help alone", async () => {
    const result = await runCli(["sync", "--help"], inheritedEnv());
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^Usage: plugchat-sync sync /);
  });
});
