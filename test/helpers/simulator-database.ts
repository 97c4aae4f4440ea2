// The setup of most sync tests: a Plugchat simulator, and a migrated database that tracks every
// account the simulator holds, for the whole test file.
import { afterAll, beforeAll } from "vitest";
import type { PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { TestDatabase } from "./databases.js";
import { useMigratedDatabase } from "./migrated-database.js";

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
  const db = useMigratedDatabase();
  let simulator: Simulator | undefined;

  // After the database's own hook (registered first), so the database is there.
  beforeAll(async () => {
    simulator = await startSimulator(options);
    await db.prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
  });

  afterAll(async () => {
    await simulator?.close();
  });

  return {
    get simulator() {
      if (simulator === undefined) throw new Error("the simulator exists inside tests and hooks only");
      return simulator;
    },
    get database() {
      return db.database;
    },
    get prisma() {
      return db.prisma;
    },
  };
}
