-- Mismatches at scale: the accounts a run's close must compare with the integrator's records again,
-- so that it compares what changed since the last comparison instead of every expected value (500,000
-- of them for 100,000 accounts with five each: about half a second a run, every run). Bookkeeping, not
-- a reporting table.

-- One row per write that may change an account's mismatches: of its row in accounts (a run's write,
-- tracking, a hand edit) or of its expected values. account_id '*' (never an account id) stands for
-- every account: after a truncation, and from this migration, since the comparison before it may not
-- have seen the latest writes. A close takes the rows it sees (deleting them, in its transaction) and
-- compares their accounts; a row written meanwhile stays for the next close.
CREATE TABLE "account_mismatch_checks" (
    "id" BIGSERIAL NOT NULL,
    "account_id" TEXT NOT NULL,

    CONSTRAINT "account_mismatch_checks_pkey" PRIMARY KEY ("id")
);

INSERT INTO "account_mismatch_checks" ("account_id") VALUES ('*');

-- Triggers, so that no writer can forget: each statement adds one row per account it wrote. Only an
-- account with expected values or an open mismatch can have its mismatches changed by a write of its
-- row (one without either gets its check when its expected values are written): so the runs of a
-- deployment that keeps no records to compare add none.
CREATE FUNCTION "account_mismatch_checks_add_accounts"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO "account_mismatch_checks" ("account_id") VALUES ('*');
  ELSE
    INSERT INTO "account_mismatch_checks" ("account_id")
    SELECT DISTINCT w."id" FROM "written_accounts" w
     WHERE EXISTS (SELECT 1 FROM "account_expectations" e WHERE e."account_id" = w."id")
        OR EXISTS (SELECT 1 FROM "account_mismatch_spans" s
                    WHERE s."account_id" = w."id" AND s."ended_at" IS NULL);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION "account_mismatch_checks_add_expectations"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO "account_mismatch_checks" ("account_id") VALUES ('*');
  ELSE
    INSERT INTO "account_mismatch_checks" ("account_id")
    SELECT DISTINCT w."account_id" FROM "written_expectations" w;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "accounts_mismatch_checks_on_insert" AFTER INSERT ON "accounts"
    REFERENCING NEW TABLE AS "written_accounts"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_accounts"();
CREATE TRIGGER "accounts_mismatch_checks_on_update" AFTER UPDATE ON "accounts"
    REFERENCING NEW TABLE AS "written_accounts"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_accounts"();
CREATE TRIGGER "accounts_mismatch_checks_on_truncate" AFTER TRUNCATE ON "accounts"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_accounts"();

CREATE TRIGGER "account_expectations_mismatch_checks_on_insert" AFTER INSERT ON "account_expectations"
    REFERENCING NEW TABLE AS "written_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_expectations"();
CREATE TRIGGER "account_expectations_mismatch_checks_on_update" AFTER UPDATE ON "account_expectations"
    REFERENCING NEW TABLE AS "written_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_expectations"();
CREATE TRIGGER "account_expectations_mismatch_checks_on_delete" AFTER DELETE ON "account_expectations"
    REFERENCING OLD TABLE AS "written_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_expectations"();
CREATE TRIGGER "account_expectations_mismatch_checks_on_truncate" AFTER TRUNCATE ON "account_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_mismatch_checks_add_expectations"();
