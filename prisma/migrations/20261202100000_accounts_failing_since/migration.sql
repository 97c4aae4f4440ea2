-- When an account's current spell of failures began (the first failed attempt after a success or a
-- 404); null while it is not failing. For the status page's "failing since" and for reporting.

-- AlterTable
ALTER TABLE "accounts" ADD COLUMN "failing_since" TIMESTAMPTZ(6);

-- Known exactly for a spell of one failure: its attempt. A longer spell began before this column
-- existed, at an attempt no longer recorded: left null (unknown).
UPDATE "accounts" SET "failing_since" = "last_attempt_at"
 WHERE "last_status" = 'failed' AND "consecutive_failures" = 1;

-- The view gains the column, last (a view's existing columns keep their order).
CREATE OR REPLACE VIEW "account_current_state" AS
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
  (SELECT max(d."detected_at") FROM "account_drift" d WHERE d."account_id" = a."id") AS last_drift_at,
  a."failing_since"
FROM "accounts" a
WHERE a."tracked";
