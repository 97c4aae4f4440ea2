// Back-dated rows for the retention tests: runs, their drift, batches and mismatch spans, as old as a
// test needs them, written with plain SQL (as the runs would have written them then).
import type { PrismaClient } from "../../src/db/prisma.js";
import type { PrunedTable } from "../../src/db/sql/retention.js";
import type { RetentionDays } from "../../src/retention/prune.js";

const DAY_MS = 86_400_000;

export const KEEP_ALL: RetentionDays = {
  sync_run_batches: null,
  sync_runs: null,
  account_drift: null,
  account_mismatch_spans: null,
  account_versions: null,
};

/** The defaults of the settings: bookkeeping 7 days, history forever. */
export const DEFAULT_DAYS: RetentionDays = { ...KEEP_ALL, sync_run_batches: 7 };

export function daysAgo(days: number, from = new Date()): Date {
  return new Date(from.getTime() - days * DAY_MS);
}

export interface PastRun {
  /** Days ago it started. */
  age: number;
  status?: "succeeded" | "running" | "failed";
  /** Batches written (at the run's start), 1 by default. */
  batches?: number;
  /** Accounts whose `name` changed in it: one drift row each. */
  drift?: readonly string[];
}

/** Inserts a run of long ago with its batches and drift; its id. */
export async function insertPastRun(prisma: PrismaClient, run: PastRun): Promise<number> {
  const at = daysAgo(run.age);
  const status = run.status ?? "succeeded";
  const [row] = await prisma.$queryRaw<{ id: number }[]>`
    INSERT INTO sync_runs (trigger, status, started_at, finished_at, heartbeat_at)
    VALUES ('schedule', ${status}, ${at}, ${status === "running" ? null : at}, ${at}) RETURNING id`;
  const id = (row as { id: number }).id;
  for (let index = 0; index < (run.batches ?? 1); index++) {
    await prisma.$executeRaw`
      INSERT INTO sync_run_batches (run_id, batch_index, written_by, written_at)
      VALUES (${id}, ${index}, 'test:1', ${at})`;
  }
  for (const accountId of run.drift ?? []) {
    await prisma.$executeRaw`
      INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value, detected_at)
      VALUES (${accountId}, ${id}, 'name', ${`before ${id}`}, ${`after ${id}`}, ${at})`;
  }
  return id;
}

/** A mismatch span begun by one run and, unless `endedBy` is null, ended by another `endedAge` days ago. */
export async function insertSpan(
  prisma: PrismaClient,
  span: { accountId: string; beganBy: number; endedBy: number | null; beganAge: number; endedAge?: number },
): Promise<void> {
  const ended = span.endedBy === null ? null : daysAgo(span.endedAge ?? span.beganAge);
  await prisma.$executeRaw`
    INSERT INTO account_mismatch_spans (account_id, field, expected, actual, began_at, began_run_id, ended_at, ended_run_id)
    VALUES (${span.accountId}, 'active', 'true', 'false', ${daysAgo(span.beganAge)}, ${span.beganBy}, ${ended}, ${span.endedBy})`;
}

/** Rows per table (of those given), to compare before and after. */
export async function rowCounts(
  prisma: PrismaClient,
  tables: readonly PrunedTable[] = [
    "sync_run_batches",
    "account_drift",
    "account_mismatch_spans",
    "sync_runs",
  ],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = await prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${table}`);
    counts[table] = (row as { n: number }).n;
  }
  return counts;
}

export async function runIds(prisma: PrismaClient): Promise<number[]> {
  const runs = await prisma.syncRun.findMany({ select: { id: true }, orderBy: { id: "asc" } });
  return runs.map((run) => run.id);
}

/** Runs each remaining batch row belongs to, once each, in order. */
export async function runsWithBatches(prisma: PrismaClient): Promise<number[]> {
  const rows = await prisma.syncRunBatch.findMany({ distinct: ["runId"], orderBy: { runId: "asc" } });
  return rows.map((row) => row.runId);
}

/** Runs each remaining drift row belongs to, once each, in order. */
export async function runsWithDrift(prisma: PrismaClient): Promise<number[]> {
  const rows = await prisma.accountDrift.findMany({ distinct: ["syncRunId"], orderBy: { syncRunId: "asc" } });
  return rows.map((row) => row.syncRunId);
}
