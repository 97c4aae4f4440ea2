// The shipped CLI is a bundle (scripts/bundle.mjs). V8 keeps each script's source for the life of the
// process, at one byte per character only when every character is Latin-1: a single `—` in a chunk
// doubles the memory its source takes (docs/benchmarks.md, "The bundled CLI").
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const BUNDLE = "dist/cli";
const scripts = readdirSync(BUNDLE, { recursive: true, encoding: "utf8" })
  .filter((name) => name.endsWith(".js"))
  .map((name) => join(BUNDLE, name));

describe("the bundled CLI", () => {
  it("holds only Latin-1 characters in every script, so V8 stores each source at one byte per character", () => {
    expect(scripts.length).toBeGreaterThan(10);
    for (const script of scripts) {
      const beyondLatin1 = [...readFileSync(script, "utf8")].find((character) => character > "\u00ff");
      expect(beyondLatin1, script).toBeUndefined();
    }
  });

  it("lists the modules of every script it is made of, for the tests of what each command loads", () => {
    const listed = JSON.parse(readFileSync(join(BUNDLE, "chunks", "modules.json"), "utf8")) as Record<
      string,
      string[]
    >;
    expect(Object.keys(listed).sort()).toEqual(scripts.map((script) => relative(BUNDLE, script)).sort());
    expect(listed["main.js"]).toContain("build/cli/main.js");
  });
});
