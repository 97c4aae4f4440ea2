-- A sixth webhook, `onMessageDeliveryError`, documented on Plugchat's create-account page (not on the
-- get-account page): synced like the other five when Plugchat's answer has it. An answer without it
-- says nothing about it, so the stored value is kept.

-- AlterTable
ALTER TABLE "accounts" ADD COLUMN "on_message_delivery_error" TEXT;

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
  a."on_message_delivery_error"
FROM "accounts" a
WHERE a."tracked";
