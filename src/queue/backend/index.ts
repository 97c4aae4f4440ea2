// The one place where the queue backend is chosen (QUEUE_BACKEND, or REDIS_URL's presence).
import type { Telemetry } from "bullmq";
import type { Config } from "../../config/index.js";
import type { Logger } from "../../logger.js";
import { PROCESS_NAME } from "../../sync/batch.js";
import { connectPostgresProducerBackend, createPostgresQueueBackend } from "./postgres-backend.js";
import type { QueueBackend, QueueBackendSettings } from "./queue-backend.js";
import { migrateQueueSchema } from "./queue-schema.js";
import { connectRedisProducerBackend, createRedisWorkerBackend } from "./redis-backend.js";

export { QueueSchemaError } from "./postgres-backend.js";
export type { QueueBackend, QueueBackendSettings } from "./queue-backend.js";

export interface BackendOptions {
  logger: Logger;
  /** Names the process's connections; default host:pid. */
  processName?: string;
  /** The longest wait between two reconnection attempts of a worker. Default 20 s. */
  maxReconnectDelayMs?: number;
  /** BullMQ's telemetry (traces), for every queue, worker and flow producer; unset: none. */
  telemetry?: Telemetry | undefined;
}

/** The queue backend of a configuration. */
export function queueBackendSettings(config: Readonly<Config>, databaseUrl: string): QueueBackendSettings {
  return {
    kind: config.queueBackend,
    prefix: config.queuePrefix,
    redisUrl: config.redisUrl,
    databaseUrl,
    queueSchema: config.queueSchema,
  };
}

/** A worker's backend: it connects in the background and waits out outages. */
export function createWorkerBackend(settings: QueueBackendSettings, options: BackendOptions): QueueBackend {
  switch (settings.kind) {
    case "redis":
      return createRedisWorkerBackend(redisOptions(settings, options));
    case "postgres":
      return createPostgresQueueBackend(postgresOptions(settings, options));
  }
}

/** A producer's backend (`trigger`): reachable and usable when returned, or one line saying why not. */
export async function connectProducerBackend(
  settings: QueueBackendSettings,
  options: BackendOptions,
): Promise<QueueBackend> {
  switch (settings.kind) {
    case "redis":
      return connectRedisProducerBackend(redisOptions(settings, options));
    case "postgres":
      return connectPostgresProducerBackend(postgresOptions(settings, options));
  }
}

/**
 * What `plugchat-sync migrate` does for the queues: on PostgreSQL, creates or upgrades the queue
 * schema and says so in one line; on Redis there is nothing to migrate (undefined).
 */
export async function migrateQueues(settings: QueueBackendSettings): Promise<string | undefined> {
  switch (settings.kind) {
    case "redis":
      return undefined;
    case "postgres": {
      const options = postgresOptions(settings, {});
      const result = await migrateQueueSchema(options.databaseUrl, options.schema);
      return `queue schema "${result.schema}" is at BullMQ schema version ${result.version}`;
    }
  }
}

function redisOptions(settings: QueueBackendSettings, options: BackendOptions) {
  return {
    redisUrl: required(settings.redisUrl, "REDIS_URL"),
    prefix: settings.prefix,
    logger: options.logger,
    processName: options.processName ?? PROCESS_NAME,
    ...(options.maxReconnectDelayMs === undefined
      ? {}
      : { maxReconnectDelayMs: options.maxReconnectDelayMs }),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  };
}

function postgresOptions(
  settings: QueueBackendSettings,
  options: Pick<BackendOptions, "processName" | "maxReconnectDelayMs" | "telemetry">,
) {
  return {
    databaseUrl: required(settings.databaseUrl, "DATABASE_URL"),
    schema: settings.queueSchema ?? "bullmq",
    prefix: settings.prefix,
    processName: options.processName ?? PROCESS_NAME,
    ...(options.maxReconnectDelayMs === undefined
      ? {}
      : { maxReconnectDelayMs: options.maxReconnectDelayMs }),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  };
}

function required(value: string | undefined, name: string): string {
  // The configuration refuses these combinations first; this guards programming errors.
  if (value === undefined) throw new Error(`${name} is needed by this queue backend`);
  return value;
}
