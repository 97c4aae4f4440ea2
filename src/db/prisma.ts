import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.js";

export type { PrismaClient };

/**
 * The one place that creates a Prisma client. It talks to PostgreSQL through the `pg` driver adapter,
 * so no native query engine is needed at run time.
 */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
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
