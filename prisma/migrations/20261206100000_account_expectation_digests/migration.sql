-- Expected values at scale: each account's stored expectations summed up in one value, so that a
-- run's reconciliation sends PostgreSQL only the accounts whose source row changed (an unchanged
-- source of 100,000 accounts with four expected values each no longer moves and compares 500,000
-- values every run). Bookkeeping, not a reporting table.

-- The digest the reconciliation computed of the values it last stored for the account (opaque: only
-- the worker computes and compares it). A row here means the account's rows in account_expectations
-- are exactly those values; an account without one is compared value by value. No foreign key: a
-- digest follows its account's expectations (the triggers below), which follow the account, and a key
-- would make every `TRUNCATE accounts, ...` written before this table existed fail.
CREATE TABLE "account_expectation_digests" (
    "account_id" VARCHAR(128) NOT NULL,
    "digest" TEXT NOT NULL,

    CONSTRAINT "account_expectation_digests_pkey" PRIMARY KEY ("account_id")
);

-- Any write to account_expectations forgets the digests of the accounts it touched: an import without
-- --replace, a hand edit, and the reconciliation itself (which records the new digests after its
-- write). So a digest is never trusted for values it did not see; the next run compares those
-- accounts value by value and puts the source's values back.
CREATE FUNCTION "account_expectation_digests_forget"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM "account_expectation_digests";
  ELSE
    DELETE FROM "account_expectation_digests" d
     WHERE d."account_id" IN (SELECT t."account_id" FROM "touched_expectations" t);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "account_expectations_forget_digests_on_insert" AFTER INSERT ON "account_expectations"
    REFERENCING NEW TABLE AS "touched_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_expectation_digests_forget"();
CREATE TRIGGER "account_expectations_forget_digests_on_update" AFTER UPDATE ON "account_expectations"
    REFERENCING OLD TABLE AS "touched_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_expectation_digests_forget"();
CREATE TRIGGER "account_expectations_forget_digests_on_delete" AFTER DELETE ON "account_expectations"
    REFERENCING OLD TABLE AS "touched_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_expectation_digests_forget"();
CREATE TRIGGER "account_expectations_forget_digests_on_truncate" AFTER TRUNCATE ON "account_expectations"
    FOR EACH STATEMENT EXECUTE FUNCTION "account_expectation_digests_forget"();
