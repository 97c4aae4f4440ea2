-- A run's progress moves as accounts are fetched, not only as batches are written: each process
-- running the run's batches adds the accounts it fetched, about once a second.

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN "accounts_fetched" INTEGER NOT NULL DEFAULT 0;
