import { PrismaPg } from "@prisma/adapter-pg";
import { clearLogs } from "@prisma/debug";
import { PrismaClient } from "../generated/prisma/client.js";

export type { PrismaClient };

/**
 * The one place that creates a Prisma client. It talks to PostgreSQL through the `pg` driver adapter,
 * so no native query engine is needed at run time.
 *
 * A `?schema=` parameter in the URL (Prisma's convention, honoured by `migrate`) selects the schema
 * both for Prisma's own queries and, through the search path, for the project's raw SQL.
 */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  const schema = new URL(databaseUrl).searchParams.get("schema");
  const adapter = schema
    ? new PrismaPg(
        { connectionString: databaseUrl, options: `-c search_path=${quoteIdentifier(schema)}` },
        { schema },
      )
    : new PrismaPg({ connectionString: databaseUrl });
  return new PrismaClient({ adapter });
}

/** Runs `work` with a fresh client and always disconnects it, so no pool outlives a command. */
export async function withPrisma<T>(
  databaseUrl: string,
  work: (prisma: PrismaClient) => Promise<T>,
): Promise<T> {
  const prisma = createPrismaClient(databaseUrl);
  try {
    return await work(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

/**
 * Prisma's debug module keeps the arguments of its last 100 debug calls, for its error reports, whether
 * debug output is on or not; the pg adapter hands it every query with its parameters. After a batch
 * these are 500 accounts' data per statement, held until newer calls push them out: an idle worker
 * kept the last 3,000 accounts' names and webhook URLs (about 2.5 MB). Called after each batch's writes.
 */
export function forgetPrismaQueryHistory(): void {
  clearLogs();
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
