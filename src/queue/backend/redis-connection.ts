// Redis connections, as BullMQ's "going to production" guide advises: workers wait out an outage
// (no per-command retry limit, capped reconnection backoff), producers fail fast (no offline queue).
// BullMQ is handed ready-made ioredis clients: its ESM build cannot load ioredis by itself.
import { Redis } from "ioredis";
import { UserFacingError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { throttledLog } from "../../observability/throttled-log.js";
import { DEFAULT_MAX_RECONNECT_DELAY_MS, reconnectDelay } from "./reconnect-delay.js";

/** Redis could not be reached: one line naming the server (never the password) and the reason. */
export class RedisUnreachableError extends UserFacingError {
  constructor(redisUrl: string, reason: string, cause?: unknown) {
    super(
      `Cannot reach Redis at ${redisLocation(redisUrl)}: ${reason}; check REDIS_URL and that Redis is running`,
      { cause },
    );
  }
}

/** `host:port` of a Redis URL, for messages: never the user or password. */
export function redisLocation(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    return `${url.hostname || "127.0.0.1"}:${url.port || "6379"}`;
  } catch {
    return "the server in REDIS_URL";
  }
}

export interface WorkerConnectionOptions {
  logger: Logger;
  /** CLIENT SETNAME, to tell the worker's connections apart in `CLIENT LIST`. */
  connectionName: string;
  /** Longest wait between two reconnection attempts. Default 20 s. */
  maxReconnectDelayMs?: number;
}

/**
 * A long-lived connection for BullMQ workers (and the connections BullMQ duplicates from it):
 * commands wait for a reconnection instead of failing (`maxRetriesPerRequest: null`), reconnection
 * backs off up to a cap and never stops, and its problems are logged, at most once per message and
 * half minute, never as an unhandled `error` event.
 */
export function createWorkerConnection(redisUrl: string, options: WorkerConnectionOptions): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
  const redis = new Redis(redisUrl, {
    maxRetriesPerRequest: null,
    connectionName: options.connectionName,
    retryStrategy: (times) => reconnectDelay(times, maxDelay),
  });
  const logger = options.logger.child({ redis: redisLocation(redisUrl), connection: options.connectionName });
  const logProblem = throttledLog(logger, "warn");
  let lost = false;
  redis.on("error", (error: Error) => {
    lost = true;
    logProblem(error.message, { err: error.message }, "Redis connection problem: retrying with backoff");
  });
  redis.on("ready", () => {
    if (lost) logger.info("Redis connection restored");
    lost = false;
  });
  return redis;
}

export interface ProducerConnectionOptions {
  /** Longest wait for the connection. Default 5 s. */
  connectTimeoutMs?: number;
}

/**
 * A short-lived connection for producers such as `plugchat-sync trigger`: connected before it is
 * returned, no offline queue and no reconnection, so that a Redis outage fails the command at once
 * with a `RedisUnreachableError` instead of hanging.
 */
export async function connectProducer(
  redisUrl: string,
  options: ProducerConnectionOptions = {},
): Promise<Redis> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  redis.on("error", (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new RedisUnreachableError(redisUrl, reason, error);
  }
  return redis;
}

/** Closes a connection politely when it is up, at once otherwise; never throws. */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === "end") return;
  if (redis.status !== "ready") {
    redis.disconnect();
    return;
  }
  try {
    await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  } catch {
    // already closing
  }
  redis.disconnect();
}
