-- Why a running run must stop (a batch met a refused token), in a column of its own: the run's other
-- batches read it and skip. Until now `error` held it; `error` keeps it too, for reporting, as before.

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN "stop_reason" TEXT;

-- A running run with an error was stopped by a batch (nothing else writes `error` before the run is
-- closed). A closed run was stopped that way when its error is the one a refused token leaves.
UPDATE "sync_runs" SET "stop_reason" = "error"
 WHERE "error" IS NOT NULL
   AND ("status" = 'running'
        OR "error" LIKE '%; the run stopped (every account would fail the same way)');
