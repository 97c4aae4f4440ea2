// The setup of most database tests: a migrated throwaway database and a Prisma client on it, made
// before the file's tests (or before each test) and dropped after them.
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { createMigratedTestDatabase, type TestDatabase } from "./databases.js";

export interface MigratedDatabase {
  readonly database: TestDatabase;
  readonly prisma: PrismaClient;
}

/**
 * A migrated database for the file's tests (`for: "file"`, the default) or a new one for each test
 * (`for: "test"`). Its fields can be read in tests and hooks only.
 */
export function useMigratedDatabase(options: { for?: "file" | "test" } = {}): MigratedDatabase {
  let database: TestDatabase | undefined;
  let prisma: PrismaClient | undefined;
  const [before, after] = options.for === "test" ? [beforeEach, afterEach] : [beforeAll, afterAll];

  before(async () => {
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
  });

  after(async () => {
    await prisma?.$disconnect();
    await database?.drop();
    prisma = undefined;
    database = undefined;
  });

  function ready<T>(value: T | undefined): T {
    if (value === undefined) throw new Error("the test database exists inside tests and hooks only");
    return value;
  }
  return {
    get database() {
      return ready(database);
    },
    get prisma() {
      return ready(prisma);
    },
  };
}
