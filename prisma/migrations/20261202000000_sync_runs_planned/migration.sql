-- The denominator of a run's progress (the status page, `trigger --wait`): the tracked accounts when
-- the run opened and the batches they make. Null for runs opened before this migration.

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN "accounts_planned" INTEGER,
ADD COLUMN "batches_planned" INTEGER;

-- Checks, as on the other counters.
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_planned_check" CHECK ("accounts_planned" >= 0 AND "batches_planned" >= 0);
