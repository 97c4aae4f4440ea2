import type { PrismaClient } from "../db/prisma.js";
import { toSummary } from "../sync/store.js";
import type { RunSummary } from "../sync/types.js";

export interface DriftEntry {
  detectedAt: Date;
  accountId: string;
  accountName: string | null;
  field: string;
  from: string | null;
  to: string | null;
  runId: number;
}

export async function recentRuns(prisma: PrismaClient, limit: number): Promise<RunSummary[]> {
  const rows = await prisma.syncRun.findMany({ orderBy: { id: "desc" }, take: limit });
  return rows.map(toSummary);
}

export async function driftSince(
  prisma: PrismaClient,
  filter: { since: Date; accountId?: string | undefined; limit: number },
): Promise<DriftEntry[]> {
  const rows = await prisma.accountDrift.findMany({
    where: {
      detectedAt: { gte: filter.since },
      ...(filter.accountId ? { accountId: filter.accountId } : {}),
    },
    orderBy: [{ detectedAt: "desc" }, { id: "desc" }],
    take: filter.limit,
    include: { account: { select: { name: true } } },
  });
  return rows.map((row) => ({
    detectedAt: row.detectedAt,
    accountId: row.accountId,
    accountName: row.account.name,
    field: row.field,
    from: row.oldValue,
    to: row.newValue,
    runId: row.syncRunId,
  }));
}
