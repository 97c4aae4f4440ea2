// Closing a run compares the accounts with the integrator's records (account_mismatches). With no
// records to compare and no mismatch open, it skips the comparison: no temporary table (catalog rows
// and WAL every run) and none of its statements; with either, it compares as before.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PrismaClient } from "../../src/generated/prisma/client.js";
import { completeRun, openRun } from "../../src/sync/run-lifecycle.js";
import { createMigratedTestDatabase, queryDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";
import { recordingPrisma, type SentStatement } from "../helpers/recording-prisma.js";

let database: TestDatabase;
let prisma: PrismaClient;
/** Every statement the client sends. */
let statements: SentStatement[];

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  ({ prisma, sent: statements } = recordingPrisma(database.url));
  await queryDatabase(
    database.url,
    "INSERT INTO accounts (id, name, last_status, last_synced_at) VALUES ('acc-1', 'Loja', 'ok', now())",
  );
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
});

beforeEach(async () => {
  await queryDatabase(database.url, "DELETE FROM account_expectations");
});

/** Opens and closes one run; returns its row's mismatch counts and the statements sent to close it. */
async function closedRun(): Promise<{ counts: Record<string, number | null>; sent: string[] }> {
  const { logger } = captureLogs();
  const run = await openRun({ prisma, logger }, "cli");
  statements.length = 0;
  await completeRun({ prisma, logger }, run.runId);
  const [counts] = await queryDatabase<Record<string, number | null>>(
    database.url,
    "SELECT mismatches_open, mismatches_opened, mismatches_resolved FROM sync_runs WHERE id = $1",
    [run.runId],
  );
  return { counts: counts ?? {}, sent: statements.map((statement) => statement.text) };
}

const comparing = (sent: string[]) => sent.filter((text) => text.includes("plugchat_current_mismatches"));

describe("closing a run, against the integrator's records", () => {
  it("with no record to compare and no mismatch open, creates no temporary table and records no mismatch", async () => {
    const { counts, sent } = await closedRun();
    expect(comparing(sent)).toEqual([]);
    expect(counts).toEqual({ mismatches_open: 0, mismatches_opened: 0, mismatches_resolved: 0 });
  });

  it("with a record that disagrees, compares and opens its mismatch", async () => {
    await queryDatabase(
      database.url,
      "INSERT INTO account_expectations (account_id, field, expected_value) VALUES ('acc-1', 'name', 'Other')",
    );
    const { counts, sent } = await closedRun();
    expect(comparing(sent).length).toBeGreaterThan(0);
    expect(counts).toEqual({ mismatches_open: 1, mismatches_opened: 1, mismatches_resolved: 0 });
  });

  it("with the records gone but a mismatch still open, compares and resolves it", async () => {
    // The previous test left the mismatch open; its record is gone (beforeEach).
    const { counts, sent } = await closedRun();
    expect(comparing(sent).length).toBeGreaterThan(0);
    expect(counts).toEqual({ mismatches_open: 0, mismatches_opened: 0, mismatches_resolved: 1 });
    expect((await closedRun()).sent.filter((text) => text.includes("plugchat_current_mismatches"))).toEqual(
      [],
    );
  });
});
