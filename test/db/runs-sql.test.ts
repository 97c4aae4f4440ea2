// sync_runs' unique index on running runs decides between two runs opening at once (the check before
// the insert cannot: both may pass it). The insert that loses gets no run, never an error.
import { expect, it } from "vitest";
import { findRun, insertRun, runningRun } from "../../src/db/sql/runs.js";
import { queryDatabase } from "../helpers/databases.js";
import { useMigratedDatabase } from "../helpers/migrated-database.js";

const setup = useMigratedDatabase();

it("opens one running run with its plan, and gives no run to a second insert while it runs", async () => {
  const { prisma, database } = setup;
  const plan = { accountsPlanned: 1200, batchesPlanned: 3 };
  const [first, second] = await Promise.all([
    insertRun(prisma, "manual", plan),
    insertRun(prisma, "schedule", plan),
  ]);
  const opened = [first, second].filter((run) => run !== null);
  expect(opened).toHaveLength(1);
  const run = opened[0];
  expect(run?.status).toBe("running");
  expect((await runningRun(prisma))?.runId).toBe(run?.runId);
  expect(await findRun(prisma, run?.runId ?? 0)).toEqual(run);
  expect(await findRun(prisma, (run?.runId ?? 0) + 100)).toBeNull();
  const [row] = await queryDatabase(
    database.url,
    "SELECT accounts_planned, batches_planned FROM sync_runs WHERE id = $1",
    [run?.runId],
  );
  expect(row).toEqual({ accounts_planned: 1200, batches_planned: 3 });
});
