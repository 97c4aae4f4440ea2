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

// One page of ids (50,000) and a few more: the plan reads them in two queries.
const ACCOUNTS = 50_003;

let database: TestDatabase;
let prisma: PrismaClient;

beforeEach(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.$executeRaw`
    INSERT INTO accounts (id) SELECT 'acc-' || lpad(n::text, 6, '0') FROM generate_series(1, ${ACCOUNTS}) AS n`;
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
    batchSize: 10_000,
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

  expect(result).toMatchObject({ outcome: "planned", batches: 14 });
  const batches = (added[0]?.children ?? []).map(
    (child) => child.data as { batchIndex: number; ids: string[] },
  );
  expect(batches.map((batch) => [batch.batchIndex, batch.ids.length])).toEqual([
    [0, 10_000],
    [1, 10_000],
    [2, 10_000],
    [3, 10_000],
    [4, 5_002],
    [5, 2_501],
    [6, 1_250],
    [7, 625],
    [8, 313],
    [9, 156],
    [10, 78],
    [11, 39],
    [12, 32],
    [13, 7],
  ]);
  const all = batches.flatMap((batch) => batch.ids);
  expect(new Set(all).size).toBe(ACCOUNTS);
  expect(all).toEqual([...all].sort());
});
