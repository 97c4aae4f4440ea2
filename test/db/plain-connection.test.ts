// `report` reads through one plain pg connection (src/db/plain-connection.ts) with the same SQL
// functions the Prisma client runs: both must read the same values, in the URL's schema.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withPlainConnection } from "../../src/db/plain-connection.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { accountIsKnown } from "../../src/db/sql/accounts.js";
import { driftSince } from "../../src/db/sql/drift.js";
import { recentRuns } from "../../src/db/sql/runs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabaseInSchema, type TestDatabase } from "../helpers/databases.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "plain-connection-token";

let database: TestDatabase;
let url: string;
let prisma: PrismaClient;
let simulator: Simulator;
let renamed: string;

beforeAll(async () => {
  ({ database, url } = await createMigratedTestDatabaseInSchema("reporting"));
  prisma = createPrismaClient(url);
  simulator = await startSimulator({ token: TOKEN, accounts: 4 });
  const ids = simulator.listIds().sort();
  await prisma.account.createMany({ data: ids.map((id) => ({ id })) });
  simulator.setFault({ type: "status", status: 500 }, { accountId: ids[3] as string });
  await syncWithSimulator({ prisma, simulator, token: TOKEN }); // baselines; one account fails
  renamed = ids[0] as string;
  simulator.setAccount(renamed, { name: "Loja Renomeada", active: false });
  simulator.deleteAccount(ids[1] as string);
  await syncWithSimulator({ prisma, simulator, token: TOKEN }); // drift: a rename, a 404
});

afterAll(async () => {
  await simulator?.close();
  await prisma?.$disconnect();
  await database?.drop();
});

describe("a plain connection", () => {
  it("reads the recent runs exactly as the Prisma client does, in the URL's schema", async () => {
    const viaPrisma = await recentRuns(prisma, 10);
    const plain = await withPlainConnection(url, (db) => recentRuns(db, 10));
    expect(viaPrisma).toHaveLength(2);
    expect(plain).toEqual(viaPrisma);
    expect(plain[0]).toMatchObject({ accountsTotal: 4, accountsFailed: 1, driftCount: 3 });
    expect(plain[0]?.startedAt).toBeInstanceOf(Date);
  });

  it("reads drift, of every account or of one, exactly as the Prisma client does", async () => {
    const since = new Date(Date.now() - 60 * 60 * 1000);
    for (const accountId of [undefined, renamed]) {
      const filter = { since, accountId, limit: 100 };
      const viaPrisma = await driftSince(prisma, filter);
      const plain = await withPlainConnection(url, (db) => driftSince(db, filter));
      expect(plain.length).toBeGreaterThan(0);
      expect(plain).toEqual(viaPrisma);
    }
    const ofOne = await withPlainConnection(url, (db) =>
      driftSince(db, { since, accountId: renamed, limit: 100 }),
    );
    expect(ofOne.map((entry) => [entry.accountId, entry.accountName, entry.field]).sort()).toEqual([
      [renamed, "Loja Renomeada", "active"],
      [renamed, "Loja Renomeada", "name"],
    ]);
    expect(await withPlainConnection(url, (db) => driftSince(db, { since: new Date(), limit: 100 }))).toEqual(
      [],
    );
  });

  it("tells a known account from one never tracked", async () => {
    expect(await withPlainConnection(url, (db) => accountIsKnown(db, renamed))).toBe(true);
    expect(await withPlainConnection(url, (db) => accountIsKnown(db, "never-tracked"))).toBe(false);
  });

  it("ends in one line, without the password, when the database cannot be reached", async () => {
    const unreachable = new URL(database.url);
    unreachable.port = "1";
    unreachable.password = "s3cret-pass";
    const failure = withPlainConnection(unreachable.toString(), async () => "never");
    await expect(failure).rejects.toThrow(/127\.0\.0\.1:1|localhost:1|refused/);
    await expect(failure).rejects.not.toThrow(/s3cret-pass/);
  });
});
