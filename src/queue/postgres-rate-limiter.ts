// Placeholder until the PostgreSQL rate limiter lands (branch issue-12-rate).
import type { Pool } from "pg";
import type { RateLimiter } from "../plugchat/rate-limiter.js";

export interface PostgresRateLimiterOptions {
  pool: Pool;
  schema: string;
  key: string;
  maxRps: number;
  timeoutMs?: number;
}

export function createPostgresRateLimiter(_options: PostgresRateLimiterOptions): RateLimiter {
  return { acquire: async (signal) => signal?.throwIfAborted() };
}

export async function createRateLimitTable(
  _client: { query(sql: string): Promise<unknown> },
  _schema: string,
): Promise<void> {}
