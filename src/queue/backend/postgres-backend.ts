// The queues in PostgreSQL (BullMQ's PostgreSQL backend), in a schema of their own (QUEUE_SCHEMA) of
// the sync's database, so the reporting tables stay as they are. BullMQ builds a small pool per queue
// or worker from the settings below (that is the only way it honours a schema); this module keeps one
// more pool of two connections for readiness checks and the rate cap.
//
// BullMQ's PostgreSQL backend ignores the key prefix (a Redis notion), so QUEUE_PREFIX goes into the
// queue names instead: "plugchat-sync/runs". BullMQ refuses ":" in a queue name, and "/" is not
// allowed in QUEUE_PREFIX, so the mapping is one to one.

import { EventEmitter } from "node:events";
import {
  assertSchemaCompatibility,
  createPostgresBackend,
  FlowProducer,
  type Processor,
  Queue,
  SchemaMigrationRequiredError,
  SchemaVersionMismatchError,
  type Telemetry,
  UnsupportedPostgresVersionError,
  Worker,
} from "bullmq";
import pg from "pg";
import { databaseLocation, describeDatabaseError } from "../../db/connection-errors.js";
import { ping } from "../../db/sql/queue.js";
import { UserFacingError } from "../../errors.js";
import { withTimeout } from "../../lib/timeout.js";
import { QUEUE_OPTIONS } from "../jobs.js";
import { createConnectGate, gatedClientClass } from "./connect-backoff.js";
import { createPostgresRateLimiter } from "./postgres-rate-limiter.js";
import type { QueueBackend, WorkerTuning } from "./queue-backend.js";
import { rateLimitTableExists } from "./queue-schema.js";
import { DEFAULT_MAX_RECONNECT_DELAY_MS } from "./reconnect-delay.js";
import { namesAfter } from "./worker-names.js";

export interface PostgresBackendOptions {
  databaseUrl: string;
  schema: string;
  prefix: string;
  /** Names the process's connections (application_name, as in pg_stat_activity). */
  processName: string;
  /** Longest wait between two connection attempts after failures. Default 20 s. */
  maxReconnectDelayMs?: number;
  /** BullMQ's telemetry (traces) for every queue, worker and flow producer. */
  telemetry?: Telemetry;
}

/** The queue schema is missing, too old or too new: the worker or trigger refuses to start. */
export class QueueSchemaError extends UserFacingError {}

/** Connections of one BullMQ object's pool: a worker's processing, lock renewal and stalled checks. */
function queuePoolSize(workerConcurrency: number): number {
  return workerConcurrency + 1;
}

function postgresQueueName(prefix: string, name: string): string {
  return `${prefix.replaceAll(":", "/")}/${name}`;
}

/** A producer's backend: checked (reachable, schema up to date) before it is returned. */
export async function connectPostgresProducerBackend(options: PostgresBackendOptions): Promise<QueueBackend> {
  const backend = createPostgresQueueBackend(options);
  try {
    await backend.verify();
  } catch (error) {
    await backend.close();
    throw backend.describeUnreachable(error) ?? error;
  }
  return backend;
}

/** The backend; its pools connect on first use, and reconnect after an outage. */
export function createPostgresQueueBackend(options: PostgresBackendOptions): QueueBackend {
  const { databaseUrl, schema, prefix } = options;
  const Client = gatedClientClass(
    createConnectGate(options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS),
  );
  const connectionFor = (max: number) => ({
    connectionString: databaseUrl,
    Client,
    schema,
    max,
    application_name: `plugchat-sync ${options.processName}`,
    // Idle pool connections close soon: a worker between runs holds few.
    idleTimeoutMillis: 10_000,
  });
  // Traces, when they are on, for every BullMQ object made below.
  const traced = options.telemetry ? { telemetry: options.telemetry } : {};
  const ownPool = new pg.Pool({
    connectionString: databaseUrl,
    Client,
    max: 2,
    application_name: `plugchat-sync ${options.processName} checks`,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
  });
  // Idle connections that drop (a restart) are replaced on the next query; the error is not fatal.
  const lost = new EventEmitter();
  ownPool.on("error", () => lost.emit("lost"));

  return {
    kind: "postgres",
    location: `PostgreSQL at ${databaseLocation(databaseUrl)}, schema "${schema}"`,
    sharedBy: "the same DATABASE_URL, QUEUE_SCHEMA and QUEUE_PREFIX",
    queueName: (base) => postgresQueueName(prefix, base),
    queue: <Data>(name: string) => {
      const queue = new Queue(
        postgresQueueName(prefix, name),
        { ...QUEUE_OPTIONS, ...traced, connection: connectionFor(1) },
        createPostgresBackend,
      ) as unknown as Queue<Data>;
      queue.on("error", () => undefined);
      return queue;
    },
    worker: <Data, Result>(name: string, processor: Processor<Data, Result>, tuning: WorkerTuning) =>
      new Worker(
        postgresQueueName(prefix, name),
        processor as Processor,
        { ...tuning, ...traced, connection: connectionFor(queuePoolSize(tuning.concurrency ?? 1)) },
        createPostgresBackend,
      ) as unknown as Worker<Data, Result>,
    flowProducer: () =>
      new FlowProducer(
        { ...traced, connection: connectionFor(1) },
        createPostgresBackend,
      ) as unknown as FlowProducer,
    // A worker's LISTEN connection is named (application_name) "<queue name>:w:<name>"; PostgreSQL
    // keeps 63 bytes of it, enough for this project's "<prefix>/runs:w:host:pid" with usual names.
    workerNames: async (queue) => namesAfter(await queue.getWorkers(), `${queue.name}:w:`),
    verify: async () => {
      const client = await ownPool.connect();
      try {
        await assertSchemaCompatibility(client, schema);
        if (!(await rateLimitTableExists(client, schema))) throw new SchemaMigrationRequiredError(schema);
      } catch (error) {
        throw schemaProblem(error, schema, databaseUrl) ?? error;
      } finally {
        client.release();
      }
    },
    onConnectionLost: (listener) => {
      lost.on("lost", listener);
    },
    check: async () => {
      const answered = await withTimeout(ownPool.query(ping()), 2_000);
      if (!answered) throw new Error("PostgreSQL did not answer in time");
    },
    rateLimiter: (maxRps) =>
      createPostgresRateLimiter({ pool: ownPool, schema, key: `${prefix}:rate-limit`, maxRps }),
    describeUnreachable: (error) =>
      error instanceof QueueSchemaError ? error : describeDatabaseError(error, databaseUrl),
    close: async () => {
      await ownPool.end().catch(() => undefined);
    },
  };
}

function schemaProblem(error: unknown, schema: string, databaseUrl: string): QueueSchemaError | undefined {
  const where = `the database ${databaseLocation(databaseUrl)}`;
  if (error instanceof SchemaMigrationRequiredError) {
    return new QueueSchemaError(
      `the queue schema "${schema}" is missing in ${where}: run \`plugchat-sync migrate\` (with the same DATABASE_URL and QUEUE_SCHEMA) before starting workers`,
      { cause: error },
    );
  }
  if (error instanceof SchemaVersionMismatchError) {
    return new QueueSchemaError(
      `the queue schema "${schema}" in ${where} was migrated by a newer BullMQ than this plugchat-sync: upgrade plugchat-sync on this machine`,
      { cause: error },
    );
  }
  if (error instanceof UnsupportedPostgresVersionError) {
    return new QueueSchemaError(
      `PostgreSQL ${error.serverVersion} at ${where} is too old for the queues (${error.minimumVersion} or later needed): upgrade PostgreSQL, or use Redis for the queues (REDIS_URL)`,
      { cause: error },
    );
  }
  return undefined;
}
