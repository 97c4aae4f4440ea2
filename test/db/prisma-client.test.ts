import { readdir, readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { withPrisma } from "../../src/db/prisma.js";
import { trackedIdsAfter } from "../../src/db/sql/accounts.js";
import { createMigratedTestDatabaseInSchema, type TestDatabase } from "../helpers/databases.js";

let database: TestDatabase;
let url: string;

beforeAll(async () => {
  ({ database, url } = await createMigratedTestDatabaseInSchema("reporting"));
});

afterAll(async () => {
  await database.drop();
});

it("uses the schema named in the URL for Prisma queries and for the sync's raw SQL alike", async () => {
  await withPrisma(url, async (prisma) => {
    await prisma.account.create({ data: { id: "in-reporting" } });
    expect(await trackedIdsAfter(prisma, null, 10)).toEqual(["in-reporting"]);
    const [where] = await prisma.$queryRaw<{ schema: string }[]>`
      SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'accounts'`;
    expect(where?.schema).toBe("reporting");
    const raw = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM accounts`;
    expect(raw[0]?.n).toBe(1);
  });
});

it("the built client reads its query compiler from the .wasm file beside it, with no base64 copy to keep in memory", async () => {
  const internal = new URL("../../dist/generated/prisma/internal/", import.meta.url);
  expect(await readFile(new URL("class.js", internal), "utf8")).not.toContain("wasm-base64");
  const [wasm] = (await readdir(internal)).filter((name) => name.endsWith(".wasm"));
  expect((await readFile(new URL(wasm as string, internal))).subarray(0, 4)).toEqual(Buffer.from("\0asm"));

  // The build as it runs: its first query compiles the WebAssembly read from that file.
  const built: typeof import("../../src/db/prisma.js") = await import(
    new URL("../../dist/db/prisma.js", import.meta.url).href
  );
  const count = await built.withPrisma(url, (prisma) => prisma.account.count({ where: { id: "none" } }));
  expect(count).toBe(0);
});
