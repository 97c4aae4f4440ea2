// The seam between the worker and where its queues live. The worker, the scheduler, `trigger` and the
// health endpoints use this interface only; what is specific to Redis or to PostgreSQL (connections,
// readiness, outage handling, the rate-cap store) sits in one module per backend, and the choice
// between them is made once, in ./index.ts.
import type { FlowProducer, Processor, Queue, Worker, WorkerOptions } from "bullmq";
import type { QueueBackendName } from "../../config/index.js";
import type { UserFacingError } from "../../errors.js";
import type { RateLimiter } from "../../plugchat/rate-limiter.js";

/** Worker options the backend does not decide (it adds the connection and the deployment's names). */
export type WorkerTuning = Omit<WorkerOptions, "connection" | "prefix">;

export interface QueueBackend {
  readonly kind: QueueBackendName;
  /** Where the queues are, for log lines and messages: never a password. */
  readonly location: string;
  /** The settings every process of one deployment shares, for hints: "the same REDIS_URL and QUEUE_PREFIX". */
  readonly sharedBy: string;
  /** The name a queue of this deployment has on this backend, from its base name. */
  queueName(base: string): string;
  /** One of the deployment's queues, by its base name (QUEUE_PREFIX is applied by the backend). */
  queue<Data = unknown>(name: string): Queue<Data>;
  worker<Data, Result>(
    name: string,
    processor: Processor<Data, Result>,
    tuning: WorkerTuning,
  ): Worker<Data, Result>;
  flowProducer(): FlowProducer;
  /**
   * The names of the workers taking jobs from `queue` now (BullMQ's `getWorkers`: the connections a
   * worker names after itself), one per worker object, as given in their options. Each backend names
   * those connections its own way, so only it can read the worker's name back.
   */
  workerNames(queue: Queue): Promise<string[]>;
  /**
   * Before the first use: rejects with a UserFacingError when the backend can never work as
   * configured (PostgreSQL: the queue schema is missing or too old: run `plugchat-sync migrate`), and
   * with a connection error when it cannot be reached now.
   */
  verify(): Promise<void>;
  /**
   * Calls `listener` whenever a connection of this backend was lost (it reconnects by itself): the
   * data may have been lost with it (a Redis restarted without persistence).
   */
  onConnectionLost(listener: () => void): void;
  /** For /readyz: resolves when the backend answers within a short deadline, rejects saying why. */
  check(): Promise<void>;
  /** The request rate cap shared by every process of the deployment (0 = none). */
  rateLimiter(maxRps: number): RateLimiter;
  /**
   * One line for a failure that means the backend cannot be reached (for producers, which fail fast);
   * undefined for any other error.
   */
  describeUnreachable(error: unknown): UserFacingError | undefined;
  /** Closes the connections this backend opened itself (not those of the queues it made). */
  close(): Promise<void>;
}

/** Where the queues of a deployment live and how they are named; decided by the configuration. */
export interface QueueBackendSettings {
  kind: QueueBackendName;
  /** QUEUE_PREFIX: names the deployment's queues, so deployments can share a Redis or a schema. */
  prefix: string;
  /** REDIS_URL, for the redis backend. */
  redisUrl?: string | undefined;
  /** DATABASE_URL, for the postgres backend: the queues live in the sync's own database. */
  databaseUrl?: string | undefined;
  /** QUEUE_SCHEMA, for the postgres backend. */
  queueSchema?: string | undefined;
}
