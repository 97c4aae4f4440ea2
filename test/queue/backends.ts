// The queue backends under test: every test of the worker runs on each of them. Tests of the Redis
// backend run when a Redis answers (see test/helpers/redis-setup.ts); on PostgreSQL the queues live in
// the test's own throwaway database, in the schema `migrate` creates.

import { Redis } from "ioredis";
import pg from "pg";
import { describe, inject } from "vitest";
import type { QueueBackendName } from "../../src/config/index.js";
import { createLogger } from "../../src/logger.js";
import {
  createWorkerBackend,
  migrateQueues,
  type QueueBackend,
  type QueueBackendSettings,
} from "../../src/queue/backend/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { TEST_REDIS_URL } from "../helpers/redis-setup.js";
import { uniquePrefix } from "./prefix.js";

export const BACKEND_KINDS: readonly QueueBackendName[] = ["redis", "postgres"];

/** `describe` once per backend; the Redis one is skipped (and reported) when no Redis answers. */
export function describeOnEachBackend(name: string, body: (kind: QueueBackendName) => void): void {
  for (const kind of BACKEND_KINDS) {
    const run = kind === "redis" && !inject("redisAvailable") ? describe.skip : describe;
    run(`${name} (${kind} queues)`, () => body(kind));
  }
}

/** The settings of a test's queues: its own prefix, and on PostgreSQL its own database. */
export function testQueueSettings(
  kind: QueueBackendName,
  databaseUrl: string,
  prefix: string,
): QueueBackendSettings {
  return { kind, prefix, redisUrl: TEST_REDIS_URL, databaseUrl, queueSchema: "bullmq" };
}

/** The TCP port of the server holding the queues (to put a proxy in front of it). */
export function queueServerPort(settings: QueueBackendSettings): number {
  const url = new URL((settings.kind === "redis" ? settings.redisUrl : settings.databaseUrl) as string);
  return Number(url.port || (settings.kind === "redis" ? 6379 : 5432));
}

/** The same queues reached through a proxy on `port` of 127.0.0.1. */
export function queuesThrough(settings: QueueBackendSettings, port: number): QueueBackendSettings {
  const key = settings.kind === "redis" ? "redisUrl" : "databaseUrl";
  const url = new URL(settings[key] as string);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return { ...settings, [key]: url.toString() };
}

/**
 * A throwaway database with the project's tables and, on PostgreSQL, the queue schema: what
 * `plugchat-sync migrate` leaves; the queues of a prefix of their own.
 */
export async function migratedQueueDatabase(
  kind: QueueBackendName,
  prefix = uniquePrefix(),
): Promise<{ database: TestDatabase; queues: QueueBackendSettings }> {
  const database = await createMigratedTestDatabase();
  const queues = testQueueSettings(kind, database.url, prefix);
  await prepareQueues(queues);
  return { database, queues };
}

/** What `migrate` does for the queues (on PostgreSQL: the queue schema in the test database). */
export async function prepareQueues(settings: QueueBackendSettings): Promise<void> {
  await migrateQueues(settings);
}

/** A backend for the test's own queue inspection (a worker's, without logs). */
export function inspectionBackend(settings: QueueBackendSettings): QueueBackend {
  return createWorkerBackend(settings, {
    logger: createLogger({ level: "silent", pretty: false }),
    processName: "test",
  });
}

/**
 * Everything the deployment keeps in its queue backend, as strings, whatever the backend: Redis keys
 * under the prefix (each value), or the rows of the queue schema (each column) for its queues.
 * For looking for what must never be there, and for the footprint.
 */
export async function storedQueueStrings(
  settings: QueueBackendSettings,
): Promise<{ where: string; value: string }[]> {
  return settings.kind === "redis"
    ? redisStrings(settings.redisUrl as string, settings.prefix)
    : postgresStrings(settings.databaseUrl as string, settings.queueSchema ?? "bullmq");
}

/** Removes what a test left in the queue backend (on PostgreSQL the test database is dropped anyway). */
export async function deleteQueueData(settings: QueueBackendSettings): Promise<void> {
  if (settings.kind !== "redis") return;
  const keys = await redisKeys(settings.redisUrl as string, settings.prefix);
  if (keys.length === 0) return;
  const redis = new Redis(settings.redisUrl as string);
  try {
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}

/**
 * What a backend restarted without its data looks like to a worker: the deployment's queue data gone
 * (the schedule with it), every connection to it dropped. Redis: its keys deleted and its clients
 * killed; PostgreSQL: the queue tables emptied and the other sessions of the database terminated.
 */
export async function loseQueueData(settings: QueueBackendSettings): Promise<void> {
  if (settings.kind === "redis") {
    await deleteQueueData(settings);
    const redis = new Redis(settings.redisUrl as string);
    try {
      const clients = (await redis.client("LIST")) as string;
      for (const line of clients.split("\n").filter((entry) => entry.includes(`name=${settings.prefix}:`))) {
        const id = /\bid=(\d+)/.exec(line)?.[1];
        if (id) await redis.client("KILL", "ID", id);
      }
    } finally {
      redis.disconnect();
    }
    return;
  }
  const schema = settings.queueSchema ?? "bullmq";
  const client = new pg.Client({ connectionString: settings.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name NOT IN ('migration', 'meta')",
      [schema],
    );
    await client.query(`TRUNCATE ${rows.map((row) => `"${schema}"."${row.table_name}"`).join(", ")}`);
    await client.query(
      // Not the test's own inspection connections (processName "test"): only the worker's go down.
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name NOT LIKE 'plugchat-sync test%'",
    );
  } finally {
    await client.end();
  }
}

export async function redisKeys(redisUrl: string, prefix: string): Promise<string[]> {
  const redis = new Redis(redisUrl);
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return keys;
  } finally {
    redis.disconnect();
  }
}

async function redisStrings(redisUrl: string, prefix: string): Promise<{ where: string; value: string }[]> {
  const redis = new Redis(redisUrl);
  try {
    const found: { where: string; value: string }[] = [];
    for (const key of await redisKeys(redisUrl, prefix)) {
      const type = await redis.type(key);
      let values: string[] = [];
      if (type === "string") values = [(await redis.get(key)) ?? ""];
      else if (type === "hash") values = Object.entries(await redis.hgetall(key)).flat();
      else if (type === "list") values = await redis.lrange(key, 0, -1);
      else if (type === "set") values = await redis.smembers(key);
      else if (type === "zset") values = await redis.zrange(key, 0, -1);
      else if (type === "stream")
        values = (await redis.xrange(key, "-", "+")).flatMap(([, fields]) => fields);
      for (const value of values) found.push({ where: key, value });
    }
    return found;
  } finally {
    redis.disconnect();
  }
}

async function postgresStrings(
  databaseUrl: string,
  schema: string,
): Promise<{ where: string; value: string }[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
      [schema],
    );
    const found: { where: string; value: string }[] = [];
    for (const { table_name: table } of tables) {
      const { rows } = await client.query(`SELECT to_jsonb(t)::text AS row FROM "${schema}"."${table}" t`);
      for (const row of rows as { row: string }[])
        found.push({ where: `${schema}.${table}`, value: row.row });
    }
    return found;
  } finally {
    await client.end();
  }
}
