// A Prisma client on a real database whose pool notes every statement it sends (BEGIN and COMMIT
// included), with its parameters: for tests that assert what reaches PostgreSQL, not only its result.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../../src/generated/prisma/client.js";

export interface SentStatement {
  text: string;
  values: unknown[];
}

export function recordingPrisma(url: string): { prisma: PrismaClient; sent: SentStatement[] } {
  const sent: SentStatement[] = [];
  const pool = new pg.Pool({ connectionString: url });
  pool.on("connect", (connection) => {
    const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;
    connection.query = ((...args: unknown[]) => {
      const [first, second] = args;
      const config =
        typeof first === "string" ? { text: first } : (first as { text?: string; values?: unknown[] });
      sent.push({
        text: config?.text ?? "",
        values: Array.isArray(second) ? second : ((config as { values?: unknown[] })?.values ?? []),
      });
      return query(...args);
    }) as typeof connection.query;
  });
  return { prisma: new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) }), sent };
}
