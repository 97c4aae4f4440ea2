-- What the sync needs: 404 tracking on accounts, a heartbeat and the unknown API fields on runs,
-- one running run at a time per database, and reporting views.

-- AlterTable
ALTER TABLE "accounts" ADD COLUMN "missing_since" TIMESTAMPTZ(6);

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN "heartbeat_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN "unknown_fields" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- One run at a time per database, whichever process or machine starts it. Prisma's schema language
-- cannot express a partial index, so it lives here only.
CREATE UNIQUE INDEX "sync_runs_one_running_key" ON "sync_runs" ((true)) WHERE "status" = 'running';

-- The accounts still tracked, with how their last sync went and when they last drifted.
CREATE VIEW "account_current_state" AS
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
  a."last_synced_at",
  a."last_attempt_at",
  (SELECT max(d."detected_at") FROM "account_drift" d WHERE d."account_id" = a."id") AS last_drift_at
FROM "accounts" a
WHERE a."tracked";

-- Drift events per UTC day and field.
CREATE VIEW "drift_by_day" AS
SELECT
  (date_trunc('day', d."detected_at" AT TIME ZONE 'UTC'))::date AS day,
  d."field",
  count(*)::integer AS changes,
  count(DISTINCT d."account_id")::integer AS accounts
FROM "account_drift" d
GROUP BY 1, 2;
