-- What the queue worker needs: one row per written batch of a run, in the batch's own transaction, so
-- that a batch job delivered twice (its worker died after the commit) never counts or records twice.
-- No foreign key to sync_runs on purpose: it is bookkeeping, and `TRUNCATE sync_runs` must keep working.

-- CreateTable
CREATE TABLE "sync_run_batches" (
    "run_id" INTEGER NOT NULL,
    "batch_index" INTEGER NOT NULL,
    "accounts" INTEGER NOT NULL DEFAULT 0,
    "drift_count" INTEGER NOT NULL DEFAULT 0,
    "written_by" TEXT NOT NULL,
    "written_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sync_run_batches_pkey" PRIMARY KEY ("run_id","batch_index")
);

-- Checks, as on the other tables.
ALTER TABLE "sync_run_batches" ADD CONSTRAINT "sync_run_batches_counts_check" CHECK ("batch_index" >= 0 AND "accounts" >= 0 AND "drift_count" >= 0);
