// Planning a run (the fire job): the tracked ids cut into batch jobs of SYNC_BATCH_SIZE, the last ones
// smaller (src/sync/batch-sizes.ts), in id order, across the pages the ids are read in.
import type { FlowJob, FlowProducer, Job, Queue } from "bullmq";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { DEFAULT_RETRY_OPTIONS, type StartRunJobData } from "../../src/queue/jobs.js";
import type { ProcessorContext } from "../../src/queue/processors/context.js";
import { createStartRunProcessor } from "../../src/queue/processors/start-run.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

const ACCOUNTS = 5_003;

let database: TestDatabase;
let prisma: PrismaClient;

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  const ids = Array.from({ length: ACCOUNTS }, (_, index) => `acc-${String(index + 1).padStart(5, "0")}`);
  await prisma.account.createMany({ data: ids.map((id) => ({ id })) });
});

afterEach(async () => {
  await prisma.$disconnect();
  await database.drop();
});

it("cuts the tracked ids into batches of SYNC_BATCH_SIZE then a halving tail, in id order, across the pages it reads them in", async () => {
  const added: FlowJob[] = [];
  const { logger } = captureLogs();
  const context = {
    deps: { prisma, client: { getAccount: () => Promise.reject(new Error("not called")) }, logger },
    logger,
    runsQueue: { getJob: async () => undefined } as unknown as Queue,
    flows: { add: async (flow: FlowJob) => added.push(flow) } as unknown as FlowProducer,
    queueName: (base: string) => base,
    retry: DEFAULT_RETRY_OPTIONS,
    // Ids are read 5,000 at a time: 2 pages.
    batchSize: 2_000,
    concurrency: 1,
    staleRunAfterMs: 60_000,
    metrics: {},
  } as ProcessorContext;
  const job = {
    id: "fire-1",
    data: { trigger: "manual" },
    updateData: async () => undefined,
  } as unknown as Job<StartRunJobData>;

  const result = await createStartRunProcessor(context)(job);

  expect(result).toMatchObject({ outcome: "planned", batches: 9 });
  const batches = (added[0]?.children ?? []).map(
    (child) => child.data as { batchIndex: number; ids: string[] },
  );
  expect(batches.map((batch) => [batch.batchIndex, batch.ids.length])).toEqual([
    [0, 2_000],
    [1, 1_502],
    [2, 751],
    [3, 375],
    [4, 188],
    [5, 94],
    [6, 47],
    [7, 32],
    [8, 14],
  ]);
  const all = batches.flatMap((batch) => batch.ids);
  expect(new Set(all).size).toBe(ACCOUNTS);
  expect(all).toEqual([...all].sort());
});
