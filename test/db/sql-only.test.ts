// The project reaches its tables through SQL only (src/db/sql/), never through Prisma's model API
// (`prisma.account.findMany(...)`). Prisma's query compiler (WebAssembly) plans each model query: about
// 30 ms for the first shape in a process and 5-10 ms for each new one, every `sync`, and the plans and
// the compiled code stay in a worker's memory (about 3 MB; docs/benchmarks.md, "A run in SQL only").
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Prisma } from "../../src/generated/prisma/client.js";

const delegates = Object.values(Prisma.ModelName).map((model) => model[0]?.toLowerCase() + model.slice(1));
const modelQuery = new RegExp(`\\.(${delegates.join("|")})\\.\\w+\\(`);

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.startsWith("generated"))
    .map((name) => join(dir, name));
}

describe("the code's database access", () => {
  it("uses no Prisma model query anywhere in src/, only SQL", () => {
    expect(delegates).toContain("syncRun");
    const found = sources("src").flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => modelQuery.test(line))
        .map((line) => `${file}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
