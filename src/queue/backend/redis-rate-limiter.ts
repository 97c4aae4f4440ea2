// The request rate cap shared by every worker process: one schedule of evenly spaced slots in Redis.
//
// Only `import type` here, whole statements: at run time this module needs nothing but sleep.js and
// rate-limit-deadline.js (a test transpiles them on their own to run them in a second Node process).
import type { Redis } from "ioredis";
import { sleep } from "../../lib/sleep.js";
import type { RateLimiter } from "../../plugchat/rate-limiter.js";
import {
  checkLimiterSettings,
  RateLimiterUnavailableError,
  slotIntervalMicros,
  UNLIMITED,
  withinDeadline,
} from "./rate-limit-deadline.js";

export interface RedisRateLimiterOptions {
  /**
   * A connection that is not used for blocking commands (not BullMQ's blocking connection). The limiter
   * never closes it.
   */
  redis: Redis;
  /** The Redis key holding the next free slot, e.g. `${QUEUE_PREFIX}:rate-limit`. */
  key: string;
  /** Requests per second for all processes together; 0 = no cap (and no Redis call at all). */
  maxRps: number;
  /**
   * Longest wait for Redis to connect and answer, per acquire. Past it the acquire rejects with a
   * `RateLimiterUnavailableError` and the request is not sent. Default 5000 ms.
   */
  redisTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

// Reserves the next free slot atomically and returns how long to wait for it, in microseconds.
// Times come from Redis (TIME), so the clocks of the processes do not matter. The key holds the end of
// the last reserved slot, in microseconds since the epoch; it expires soon after that moment, when it
// would make no difference any more (an absent key means "free now").
// Numbers are written with %d: Lua numbers are doubles, and microseconds since the epoch (~2^51) are
// still exact integers, but Redis could format a bare number argument in exponent notation.
const RESERVE_SLOT_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local slot = math.max(now, nextFree)
local after = slot + interval
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', string.format('%d', math.ceil((after - now) / 1000) + 1000))
return slot - now
`;

const COMMAND_NAME = "plugchatSyncReserveRateSlot";

type RedisWithReserve = Redis & {
  [COMMAND_NAME](key: string, intervalMicros: string): Promise<number>;
};

/**
 * A `RateLimiter` holding `maxRps` across every process that uses the same Redis key: slots
 * 1/maxRps apart, each reserved atomically by a Lua script, then waited for locally (abortable).
 * Evenly spaced like the in-process limiter: no burst at start-up.
 *
 * When Redis cannot be reached, an acquire waits for the connection at most `redisTimeoutMs`, then
 * rejects with a `RateLimiterUnavailableError`; it never sends the request without a slot, never
 * hangs and never queues a reservation while the connection is down (it would burn a slot on
 * reconnection for a request that gave up long ago).
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const timeoutMs = options.redisTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  checkLimiterSettings({ ...options, timeoutMs }, "redisTimeoutMs");
  if (options.maxRps === 0) return UNLIMITED;
  const client = options.redis as RedisWithReserve;
  if (typeof client[COMMAND_NAME] !== "function") {
    // ioredis sends EVALSHA, and the script itself only when Redis does not know it yet.
    client.defineCommand(COMMAND_NAME, { numberOfKeys: 1, lua: RESERVE_SLOT_SCRIPT });
  }
  return new RedisRateLimiter(client, options.key, String(slotIntervalMicros(options.maxRps)), timeoutMs);
}

class RedisRateLimiter implements RateLimiter {
  /** One "ready" listener for all the acquires waiting for a reconnection. */
  private ready: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisWithReserve,
    private readonly key: string,
    private readonly intervalMicros: string,
    private readonly timeoutMs: number,
  ) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const { redis, timeoutMs } = this;
    if (redis.status === "end") throw new RateLimiterUnavailableError("the Redis connection is closed");
    const waitMicros = await withinDeadline(this.reserve(), timeoutMs, signal, () => {
      const state = redis.status === "ready" ? "connected, no answer" : `connection ${redis.status}`;
      return new RateLimiterUnavailableError(`Redis did not answer within ${timeoutMs} ms (${state})`);
    });
    if (waitMicros > 0) await sleep(waitMicros / 1000, signal);
  }

  private async reserve(): Promise<number> {
    // "wait" is a lazy connection that nobody used yet: the command itself connects it.
    if (this.redis.status !== "ready" && this.redis.status !== "wait") await this.whenReady();
    try {
      return await this.redis[COMMAND_NAME](this.key, this.intervalMicros);
    } catch (error) {
      throw new RateLimiterUnavailableError(`Redis refused the reservation (${(error as Error).message})`, {
        cause: error,
      });
    }
  }

  private whenReady(): Promise<void> {
    this.ready ??= new Promise<void>((resolve) => {
      this.redis.once("ready", () => {
        this.ready = undefined;
        resolve();
      });
    });
    return this.ready;
  }
}
