-- A new run status, 'interrupted': a run stopped on purpose by its own process (`plugchat-sync sync`
-- on SIGINT, SIGTERM or SIGHUP), which let the batch being written finish and closed the run itself.
-- Every batch it wrote is whole; the accounts of the batches it did not run keep their values.
ALTER TABLE "sync_runs" DROP CONSTRAINT "sync_runs_status_check";
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_status_check" CHECK ("status" IN ('running', 'succeeded', 'partial', 'failed', 'interrupted'));
