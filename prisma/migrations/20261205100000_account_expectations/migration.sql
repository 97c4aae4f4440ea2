-- What the integrator's own records expect of each account (issue: your records against Plugchat's),
-- the spans during which an account disagreed with them, and the view of the disagreements open now.

-- One expected value of one field of one account, from the account source's extra columns or an
-- imported CSV. `field` is the API's name ("exists" for the account itself); `expected_value` is text
-- as account_drift writes values ("true"/"false" for booleans, NULL for Plugchat's null).
CREATE TABLE "account_expectations" (
    "account_id" VARCHAR(128) NOT NULL,
    "field" TEXT NOT NULL,
    "expected_value" TEXT,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_expectations_pkey" PRIMARY KEY ("account_id", "field")
);

ALTER TABLE "account_expectations" ADD CONSTRAINT "account_expectations_account_id_fkey"
    FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- One disagreement of one account's field with its expected value, from the run that first saw it to
-- the run that saw it resolved (ended_at NULL while it lasts). `expected` and `actual` are the values
-- last seen while it lasted.
CREATE TABLE "account_mismatch_spans" (
    "id" BIGSERIAL NOT NULL,
    "account_id" VARCHAR(128) NOT NULL,
    "field" TEXT NOT NULL,
    "expected" TEXT,
    "actual" TEXT,
    "began_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "began_run_id" INTEGER NOT NULL,
    "ended_at" TIMESTAMPTZ(6),
    "ended_run_id" INTEGER,

    CONSTRAINT "account_mismatch_spans_pkey" PRIMARY KEY ("id")
);

ALTER TABLE "account_mismatch_spans" ADD CONSTRAINT "account_mismatch_spans_account_id_fkey"
    FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- At most one open span per account and field.
CREATE UNIQUE INDEX "account_mismatch_spans_open_key" ON "account_mismatch_spans"("account_id", "field")
    WHERE "ended_at" IS NULL;
CREATE INDEX "account_mismatch_spans_began_at_idx" ON "account_mismatch_spans"("began_at");

-- What each run found: mismatches open when it closed, opened and resolved by it.
ALTER TABLE "sync_runs" ADD COLUMN "mismatches_open" INTEGER,
                        ADD COLUMN "mismatches_opened" INTEGER,
                        ADD COLUMN "mismatches_resolved" INTEGER;

-- The disagreements open now, on tracked accounts whose last fetch answered: found (every field), or
-- 404 (`exists` only: its other fields are as Plugchat last gave them). An account never synced, or
-- failing, is unverified and not shown here.
CREATE VIEW "account_mismatches" AS
SELECT s.account_id, a.name, s.field, s.expected, s.actual, s.began_at AS since, s.began_run_id AS run_id
  FROM account_mismatch_spans s
  JOIN accounts a ON a.id = s.account_id
 WHERE s.ended_at IS NULL
   AND a.tracked
   AND (a.last_status = 'ok' OR (a.last_status = 'not_found' AND s.field = 'exists'));
