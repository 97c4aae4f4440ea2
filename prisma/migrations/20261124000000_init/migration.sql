-- Initial reporting schema: accounts, sync_runs, account_drift.
-- Generated from prisma/schema.prisma, then CHECK constraints added by hand (Prisma's schema language
-- cannot express them, and its diff ignores them).

-- CreateTable
CREATE TABLE "accounts" (
    "id" VARCHAR(128) NOT NULL,
    "external_id" TEXT,
    "name" TEXT,
    "active" BOOLEAN,
    "on_start_attendance" TEXT,
    "on_finish_attendance" TEXT,
    "on_receive_message" TEXT,
    "on_sending_message" TEXT,
    "on_message_status" TEXT,
    "tracked" BOOLEAN NOT NULL DEFAULT true,
    "added_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6),
    "last_synced_at" TIMESTAMPTZ(6),
    "last_attempt_at" TIMESTAMPTZ(6),
    "last_status" TEXT NOT NULL DEFAULT 'pending',
    "last_error" TEXT,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_runs" (
    "id" SERIAL NOT NULL,
    "trigger" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),
    "status" TEXT NOT NULL DEFAULT 'running',
    "accounts_total" INTEGER NOT NULL DEFAULT 0,
    "accounts_changed" INTEGER NOT NULL DEFAULT 0,
    "accounts_unchanged" INTEGER NOT NULL DEFAULT 0,
    "accounts_failed" INTEGER NOT NULL DEFAULT 0,
    "accounts_not_found" INTEGER NOT NULL DEFAULT 0,
    "drift_count" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "sync_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_drift" (
    "id" BIGSERIAL NOT NULL,
    "account_id" VARCHAR(128) NOT NULL,
    "sync_run_id" INTEGER NOT NULL,
    "field" TEXT NOT NULL,
    "old_value" TEXT,
    "new_value" TEXT,
    "detected_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_drift_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "accounts_last_status_idx" ON "accounts"("last_status");

-- CreateIndex
CREATE INDEX "sync_runs_started_at_idx" ON "sync_runs"("started_at");

-- CreateIndex
CREATE INDEX "account_drift_account_detected_idx" ON "account_drift"("account_id", "detected_at");

-- CreateIndex
CREATE INDEX "account_drift_detected_at_idx" ON "account_drift"("detected_at");

-- CreateIndex
CREATE UNIQUE INDEX "account_drift_run_account_field_key" ON "account_drift"("sync_run_id", "account_id", "field");

-- AddForeignKey
ALTER TABLE "account_drift" ADD CONSTRAINT "account_drift_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_drift" ADD CONSTRAINT "account_drift_sync_run_id_fkey" FOREIGN KEY ("sync_run_id") REFERENCES "sync_runs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Checks: the id shape the client accepts, and the documented values of status-like columns.
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_id_format_check" CHECK ("id" ~ '^[A-Za-z0-9_-]{1,128}$');
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_last_status_check" CHECK ("last_status" IN ('pending', 'ok', 'not_found', 'failed'));
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_consecutive_failures_check" CHECK ("consecutive_failures" >= 0);
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_trigger_check" CHECK ("trigger" IN ('schedule', 'manual', 'cli'));
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_status_check" CHECK ("status" IN ('running', 'succeeded', 'partial', 'failed'));
