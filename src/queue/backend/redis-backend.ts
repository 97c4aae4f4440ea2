// The queues in Redis: one ioredis connection per process shared by its BullMQ objects (BullMQ
// duplicates it for blocking reads), a second one for the rate cap, and QUEUE_PREFIX as the key prefix.
import { FlowProducer, Queue, type Telemetry, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { withTimeout } from "../../lib/timeout.js";
import type { Logger } from "../../logger.js";
import type { RateLimiter } from "../../plugchat/rate-limiter.js";
import { QUEUE_OPTIONS } from "../jobs.js";
import type { QueueBackend } from "./queue-backend.js";
import {
  closeConnection,
  connectProducer,
  createWorkerConnection,
  RedisUnreachableError,
  redisLocation,
} from "./redis-connection.js";
import { createRedisRateLimiter } from "./redis-rate-limiter.js";
import { namesAfter } from "./worker-names.js";

export interface RedisBackendOptions {
  redisUrl: string;
  prefix: string;
  logger: Logger;
  /** Longest wait between two reconnection attempts of a worker's connections. Default 20 s. */
  maxReconnectDelayMs?: number;
  /** Names the process's connections in CLIENT LIST. */
  processName: string;
  /** BullMQ's telemetry (traces) for every queue, worker and flow producer. */
  telemetry?: Telemetry;
}

// Producers' calls fail with these when the connection is gone (no offline queue, no reconnection).
const LOST_CONNECTION = /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT/;

/** A worker's backend: its connections wait out outages, reconnecting with backoff. */
export function createRedisWorkerBackend(options: RedisBackendOptions): QueueBackend {
  return redisBackend(options, workerConnectionFactory(options)("worker"));
}

/** A producer's backend: connected before it is returned, or a RedisUnreachableError (one line). */
export async function connectRedisProducerBackend(options: RedisBackendOptions): Promise<QueueBackend> {
  return redisBackend(options, await connectProducer(options.redisUrl));
}

function workerConnectionFactory(options: RedisBackendOptions): (name: string) => Redis {
  return (name) =>
    createWorkerConnection(options.redisUrl, {
      logger: options.logger,
      connectionName: `${options.prefix}:${name}:${options.processName}`,
      ...(options.maxReconnectDelayMs === undefined
        ? {}
        : { maxReconnectDelayMs: options.maxReconnectDelayMs }),
    });
}

function redisBackend(options: RedisBackendOptions, connection: Redis): QueueBackend {
  const { redisUrl, prefix } = options;
  const workerConnection = workerConnectionFactory(options);
  // Every BullMQ object is made with these: the connection, the prefix, and traces when they are on.
  const base = { connection, prefix, ...(options.telemetry ? { telemetry: options.telemetry } : {}) };
  let limiterConnection: Redis | undefined;

  return {
    kind: "redis",
    location: `Redis at ${redisLocation(redisUrl)}`,
    sharedBy: "the same REDIS_URL and QUEUE_PREFIX",
    queueName: (base) => base,
    queue: <Data>(name: string) => {
      const queue = new Queue<Data>(name, { ...QUEUE_OPTIONS, ...base });
      // Errors surface through the failing calls, and the worker logs its components' own.
      queue.on("error", () => undefined);
      return queue;
    },
    worker: (name, processor, tuning) => new Worker(name, processor, { ...tuning, ...base }),
    flowProducer: () => new FlowProducer(base),
    // BullMQ names a worker's blocking connection "<prefix>:<base64 of the queue name>:w:<name>".
    workerNames: async (queue) =>
      namesAfter(await queue.getWorkers(), `${prefix}:${Buffer.from(queue.name).toString("base64")}:w:`),
    verify: async () => {},
    onConnectionLost: (listener) => {
      connection.on("reconnecting", listener);
    },
    check: async () => {
      if (connection.status !== "ready") throw new Error(`Redis connection is ${connection.status}`);
      const answer = await withTimeout(connection.ping(), 2_000);
      if (answer !== "PONG") throw new Error("Redis did not answer PING in time");
    },
    rateLimiter: (maxRps: number): RateLimiter => {
      limiterConnection ??= workerConnection("rate-limiter");
      return createRedisRateLimiter({ redis: limiterConnection, key: `${prefix}:rate-limit`, maxRps });
    },
    describeUnreachable: (error) => {
      if (error instanceof RedisUnreachableError) return error;
      const message = (error as Error | undefined)?.message ?? "";
      return LOST_CONNECTION.test(message) ? new RedisUnreachableError(redisUrl, message, error) : undefined;
    },
    close: async () => {
      if (limiterConnection) await closeConnection(limiterConnection);
      await closeConnection(connection);
    },
  };
}
