// The setup of most sync tests: a Plugchat simulator, and a migrated database that tracks every
// account the simulator holds, for the whole test file.
import { afterAll, beforeAll } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { createMigratedTestDatabase, type TestDatabase } from "./databases.js";

export interface SimulatorWithDatabase {
  readonly simulator: Simulator;
  readonly database: TestDatabase;
  readonly prisma: PrismaClient;
}

/**
 * Starts the simulator (holding `accounts` accounts, answering `token`) and the database before the
 * file's tests, and closes both after them. Its fields can be read in tests and hooks only.
 */
export function useSimulatorWithDatabase(options: {
  token: string;
  accounts: number;
}): SimulatorWithDatabase {
  let simulator: Simulator | undefined;
  let database: TestDatabase | undefined;
  let prisma: PrismaClient | undefined;

  beforeAll(async () => {
    simulator = await startSimulator(options);
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
    await simulator?.close();
  });

  function ready<T>(value: T | undefined): T {
    if (value === undefined) throw new Error("the simulator and its database exist inside tests only");
    return value;
  }
  return {
    get simulator() {
      return ready(simulator);
    },
    get database() {
      return ready(database);
    },
    get prisma() {
      return ready(prisma);
    },
  };
}
