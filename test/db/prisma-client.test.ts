import { readdir, readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { withPrisma } from "../../src/db/prisma.js";
import { trackedIdsAfter } from "../../src/db/sql/accounts.js";
import { startSimulator } from "../../src/simulator/index.js";
import { inheritedEnv, runCli } from "../helpers/cli.js";
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

it("the shipped bundle reads Prisma's query compiler from the .wasm file beside its chunks, with no base64 copy to keep in memory", async () => {
  const chunks = new URL("../../dist/cli/chunks/", import.meta.url);
  const files = await readdir(chunks);
  const [wasm] = files.filter((name) => name.endsWith(".wasm"));
  expect((await readFile(new URL(wasm as string, chunks))).subarray(0, 4)).toEqual(Buffer.from("\0asm"));
  const loaders: string[] = [];
  for (const name of files.filter((file) => file.endsWith(".js"))) {
    const code = await readFile(new URL(name, chunks), "utf8");
    expect(code, name).not.toContain("wasm-base64");
    if (code.includes(wasm as string)) loaders.push(name);
  }
  expect(loaders).toHaveLength(1);

  // The bundle as it runs: the sync's first query compiles the WebAssembly read from that file.
  const simulator = await startSimulator({ token: "t", accounts: 1 });
  const [id] = simulator.listIds() as [string];
  await withPrisma(url, (prisma) => prisma.account.create({ data: { id } }));
  try {
    const { code, stdout } = await runCli(
      ["sync"],
      inheritedEnv({ DATABASE_URL: url, PLUGCHAT_BASE_URL: simulator.url, PLUGCHAT_TOKEN: "t" }),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/succeeded/);
  } finally {
    await simulator.close();
  }
  const synced = await withPrisma(url, (prisma) => prisma.account.findUniqueOrThrow({ where: { id } }));
  expect(synced.name).not.toBeNull();
});
