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
