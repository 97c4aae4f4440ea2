// The queue's footprint: how much storage a deployment's queues take after 50 and after 200 small
// runs through a real worker process, on one backend. Runs are queued in this process (the built
// producer code, as `trigger` does) one after the other, each waited for through its sync_runs row,
// so 200 runs take about a minute instead of 200 schedule intervals.
//   Redis: MEMORY USAGE summed over the deployment's keys (its own QUEUE_PREFIX).
//   PostgreSQL: the queue schema's tables and indexes (its own QUEUE_SCHEMA). Runs come faster here
//   than on any schedule, so autovacuum (once a minute at most) is stood in for by a plain VACUUM of
//   the schema every 12 runs, which is once a minute on a 5-second schedule, and before measuring:
//   the space of removed rows is reused, not returned, so the figure is the size the schema settles at.

import { Redis } from "ioredis";
import { silentLogger } from "../../build/logger.js";
import { connectProducerBackend } from "../../build/queue/backend/index.js";
import { enqueueManualRun, openProducer } from "../../build/queue/trigger.js";
import { withClient } from "./database.mjs";
import { withWarmDeployment } from "./workers.mjs";

const ACCOUNTS = 20;
const BATCH_SIZE = 10;
const QUEUE_SCHEMA = "bullmq_footprint";
const VACUUM_EVERY_RUNS = 12;

/** { bytesAfter50Runs, bytesAfter200Runs, ratio, rows... } for `backend`. */
export async function measureQueueFootprint({ backend, url, simulator, ids, progress }) {
  const deployment = {
    backend,
    url,
    simulator,
    ids: ids.slice(0, ACCOUNTS),
    latencyMs: 0,
    concurrency: 16,
    batchSize: BATCH_SIZE,
    extraEnv: { QUEUE_SCHEMA },
  };
  return withWarmDeployment(deployment, async ({ env }) => {
    const backendHandle = await connectProducerBackend(
      {
        kind: backend,
        prefix: env.QUEUE_PREFIX,
        redisUrl: env.REDIS_URL || undefined,
        databaseUrl: url,
        queueSchema: QUEUE_SCHEMA,
      },
      { logger: silentLogger },
    );
    const producer = openProducer(backendHandle);
    try {
      // The warm-up run counts as the first.
      let runs = 1;
      const runTo = async (target) => {
        for (; runs < target; runs++) {
          await oneRun(producer, url, runs);
          if (backend === "postgres" && runs % VACUUM_EVERY_RUNS === 0) await vacuumQueueSchema(url);
        }
      };
      await runTo(50);
      const after50 = await footprint(env, url);
      progress(`queue footprint (${backend}) after 50 runs: ${after50.bytes} bytes`);
      await runTo(200);
      const after200 = await footprint(env, url);
      progress(`queue footprint (${backend}) after 200 runs: ${after200.bytes} bytes`);
      return {
        bytesAfter50Runs: after50.bytes,
        bytesAfter200Runs: after200.bytes,
        ratio: Math.round((after200.bytes / after50.bytes) * 100) / 100,
        accountsPerRun: ACCOUNTS,
        batchesPerRun: ACCOUNTS / BATCH_SIZE,
        after50: after50.detail,
        after200: after200.detail,
      };
    } finally {
      await producer.close();
    }
  });
}

/** Queues a manual run and waits until `closedBefore` + 1 runs are closed. */
async function oneRun(producer, url, closedBefore) {
  await enqueueManualRun(producer);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const closed = await withClient(url, async (client) => {
      const { rows } = await client.query(
        "SELECT count(*)::int AS closed FROM sync_runs WHERE status <> 'running'",
      );
      return rows[0].closed;
    });
    if (closed > closedBefore) return;
    if (Date.now() > deadline) throw new Error(`run ${closedBefore + 1} did not close within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function footprint(env, url) {
  return env.QUEUE_BACKEND === "redis" ? redisFootprint(env) : postgresFootprint(url);
}

async function redisFootprint(env) {
  const redis = new Redis(env.REDIS_URL);
  try {
    let bytes = 0;
    const keys = {};
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${env.QUEUE_PREFIX}:*`, "COUNT", 1000);
      cursor = next;
      for (const key of found) {
        const size = (await redis.memory("USAGE", key)) ?? 0;
        bytes += size;
        const kind = key.slice(env.QUEUE_PREFIX.length + 1).replace(/:[^:]*\d[^:]*(:.*)?$/, ":<job>$1");
        keys[kind] = (keys[kind] ?? 0) + 1;
      }
    } while (cursor !== "0");
    return { bytes, detail: { keys } };
  } finally {
    redis.disconnect();
  }
}

/** The queue schema's tables, quoted. */
async function queueTables(client) {
  const { rows } = await client.query(
    "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
    [QUEUE_SCHEMA],
  );
  return rows.map(({ tablename }) => ({ name: tablename, quoted: `"${QUEUE_SCHEMA}"."${tablename}"` }));
}

async function vacuumQueueSchema(url) {
  await withClient(url, async (client) => {
    for (const table of await queueTables(client)) await client.query(`VACUUM ${table.quoted}`);
  });
}

async function postgresFootprint(url) {
  await vacuumQueueSchema(url);
  return withClient(url, async (client) => {
    const rows = {};
    for (const table of await queueTables(client)) {
      const { rows: counted } = await client.query(`SELECT count(*)::int AS n FROM ${table.quoted}`);
      if (counted[0].n > 0) rows[table.name] = counted[0].n;
    }
    const { rows: size } = await client.query(
      `SELECT COALESCE(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))), 0)::bigint AS bytes
         FROM pg_tables WHERE schemaname = $1`,
      [QUEUE_SCHEMA],
    );
    return { bytes: Number(size[0].bytes), detail: { rows } };
  });
}
