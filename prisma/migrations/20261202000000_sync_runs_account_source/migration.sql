-- What the account source (ACCOUNT_SOURCE_URL) did at the start of each run. All null when no source
-- is configured: the tracked set then changes only by hand.

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN     "source_added" INTEGER,
ADD COLUMN     "source_error" TEXT,
ADD COLUMN     "source_ids" INTEGER,
ADD COLUMN     "source_invalid" INTEGER,
ADD COLUMN     "source_invalid_examples" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "source_outcome" TEXT,
ADD COLUMN     "source_removed" INTEGER,
ADD COLUMN     "source_retracked" INTEGER;

-- Checks, as on the other columns of the table.
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_source_outcome_check" CHECK ("source_outcome" IN ('applied', 'refused', 'skipped'));
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_source_counts_check" CHECK ("source_ids" >= 0 AND "source_added" >= 0 AND "source_retracked" >= 0 AND "source_removed" >= 0 AND "source_invalid" >= 0);
