// Prisma's debug module remembers its last 100 calls' arguments, query parameters included, debug output
// on or not. A written batch must not leave its accounts' data there: an idle worker would hold the last
// batches in memory until newer queries pushed them out.
import { getLogs } from "@prisma/debug";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { openRun } from "../../src/sync/run-lifecycle.js";
import { writeBatch } from "../../src/sync/write-batch.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

const ID = "acc-history";
const NAME = "Padaria Memória Curta";

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.account.create({ data: { id: ID } });
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

it("a written batch leaves none of its accounts' data in Prisma's debug history", async () => {
  const { runId } = await openRun({ prisma, logger: captureLogs().logger }, "cli");
  const account = {
    externalId: "cust-history",
    name: NAME,
    active: true,
    onStartAttendance: null,
    onFinishAttendance: null,
    onReceiveMessage: "https://hooks.example.com/history",
    onSendingMessage: null,
    onMessageStatus: null,
  };
  const result = { id: ID, kind: "ok" as const, account, unknownFields: [], extra: { values: {}, cut: [] } };

  const written = await writeBatch(prisma, runId, [result], {
    index: 0,
    unknownFields: [],
    extraCutFields: [],
    writtenBy: "test:1",
  });

  expect(written).toHaveProperty("counts");
  // The batch really was written with the name, so only forgetting it keeps it out of the history.
  const stored = await prisma.account.findUniqueOrThrow({ where: { id: ID } });
  expect(stored.name).toBe(NAME);
  expect(getLogs(1_000_000)).not.toContain("https://hooks.example.com/history");
});
