-- An unchanged run writes almost nothing: an account Plugchat answered with the data already stored,
-- and whose last attempt was a success, is no longer written (its row stays as it was, no dead tuple,
-- no WAL). Its batch's row in sync_run_batches lists it instead (confirmed_ids), and the time of that
-- batch is its last_synced_at and last_attempt_at: account_current_state shows them so, through
-- account_confirmed_at. Any other write of the row (a failure, a 404, a change) folds the latest
-- confirmation into the row first, and retention folds those it is about to prune; so the row's own
-- columns are never later than the truth, and the view is exact.

-- AlterTable
ALTER TABLE "sync_run_batches" ADD COLUMN "confirmed_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN "first_confirmed_id" TEXT,
ADD COLUMN "last_confirmed_id" TEXT;

-- CreateIndex
CREATE INDEX "sync_run_batches_run_first_confirmed_idx" ON "sync_run_batches"("run_id", "first_confirmed_id");

-- The time of the latest batch that confirmed the account unchanged after `since` (the row's own
-- last_attempt_at; null: any time), or null. Runs are looked at newest first (a run's batches cover
-- disjoint id ranges, so one index probe each); it stops at the first run written entirely before
-- `since`. Usually the latest run answers.
CREATE FUNCTION "account_confirmed_at"(account_id TEXT, since TIMESTAMPTZ) RETURNS TIMESTAMPTZ
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  run INTEGER;
  found_at TIMESTAMPTZ;
BEGIN
  since := COALESCE(since, '-infinity');
  SELECT max(b."run_id") INTO run FROM "sync_run_batches" b;
  WHILE run IS NOT NULL LOOP
    IF (SELECT max(b."written_at") FROM "sync_run_batches" b WHERE b."run_id" = run) <= since THEN
      RETURN NULL;
    END IF;
    SELECT b."written_at" INTO found_at
      FROM "sync_run_batches" b
     WHERE b."run_id" = run AND b."first_confirmed_id" <= account_id AND b."last_confirmed_id" >= account_id
       AND account_id = ANY (b."confirmed_ids") AND b."written_at" > since
     ORDER BY b."first_confirmed_id" DESC
     LIMIT 1;
    IF found_at IS NOT NULL THEN RETURN found_at; END IF;
    SELECT max(b."run_id") INTO run FROM "sync_run_batches" b WHERE b."run_id" < run;
  END LOOP;
  RETURN NULL;
END $$;

-- The view's columns keep their names, order and meaning; the two times now count the confirmations.
-- Only an account whose last attempt succeeded can have one (any other write folds it in). Those of
-- the two latest runs are joined at once (a run usually confirms every tracked account it finds as
-- stored); account_confirmed_at looks further back only for an account written before them and not
-- confirmed by them (not reached by a partial run, removed from tracking).
CREATE OR REPLACE VIEW "account_current_state" AS
WITH recent_runs AS (
  SELECT DISTINCT b."run_id" FROM "sync_run_batches" b ORDER BY b."run_id" DESC LIMIT 2
),
recent AS (
  SELECT DISTINCT ON (u.id) u.id, b."written_at"
    FROM "sync_run_batches" b CROSS JOIN LATERAL unnest(b."confirmed_ids") AS u(id)
   WHERE b."run_id" IN (SELECT "run_id" FROM recent_runs)
   ORDER BY u.id, b."written_at" DESC
),
horizon AS (
  SELECT min(b."written_at") AS since FROM "sync_run_batches" b WHERE b."run_id" IN (SELECT "run_id" FROM recent_runs)
)
SELECT
  a."id" AS account_id,
  a."external_id",
  a."name",
  a."active",
  a."on_start_attendance",
  a."on_finish_attendance",
  a."on_receive_message",
  a."on_sending_message",
  a."on_message_status",
  a."last_status",
  a."last_error",
  a."consecutive_failures",
  a."missing_since",
  a."added_at",
  a."updated_at",
  GREATEST(a."last_synced_at", c.at)::TIMESTAMPTZ(6) AS last_synced_at,
  GREATEST(a."last_attempt_at", c.at)::TIMESTAMPTZ(6) AS last_attempt_at,
  (SELECT max(d."detected_at") FROM "account_drift" d WHERE d."account_id" = a."id") AS last_drift_at,
  a."failing_since",
  a."on_message_delivery_error",
  a."extra"
FROM "accounts" a
LEFT JOIN recent r ON r.id = a."id" AND r."written_at" > COALESCE(a."last_attempt_at", '-infinity')
CROSS JOIN horizon h
CROSS JOIN LATERAL (
  SELECT CASE
           WHEN a."last_status" <> 'ok' THEN NULL
           WHEN r."written_at" IS NOT NULL THEN r."written_at"
           WHEN COALESCE(a."last_attempt_at", '-infinity') < h.since
             THEN "account_confirmed_at"(a."id", a."last_attempt_at")
         END AS at
) c
WHERE a."tracked";
