-- Every field Plugchat returns is kept: the ones the project does not model, with their values as
-- sent, in `accounts.extra` (a change in one of them is drift like any other); and, per run, the
-- unknown fields whose values were too large to keep.

-- AlterTable
ALTER TABLE "accounts" ADD COLUMN "extra" JSONB NOT NULL DEFAULT '{}';
ALTER TABLE "sync_runs" ADD COLUMN "extra_cut_fields" TEXT[] DEFAULT ARRAY[]::TEXT[];

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
  a."failing_since",
  a."on_message_delivery_error",
  a."extra"
FROM "accounts" a
WHERE a."tracked";
