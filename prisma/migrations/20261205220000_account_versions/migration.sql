-- Each account's history as versions: one row per version of an account, from the run that saw it
-- first (valid_from) to the run that saw it change (valid_to, null for the current version). Written by
-- each batch in the same transaction as its drift rows, with the same clock (the transaction's now()).
-- Then `accounts_as_of(at)`, each account's version at an instant, and `accounts_by_day`, the daily
-- counts for BI charts. The accounts synced before this migration get their history rebuilt from their
-- rows and drift (see the end of this file).

-- CreateTable
CREATE TABLE "account_versions" (
    "id" BIGSERIAL NOT NULL,
    "account_id" VARCHAR(128) NOT NULL,
    "valid_from" TIMESTAMPTZ(6) NOT NULL,
    "valid_to" TIMESTAMPTZ(6),
    "run_id" INTEGER,
    "exists" BOOLEAN NOT NULL,
    "external_id" TEXT,
    "name" TEXT,
    "active" BOOLEAN,
    "on_start_attendance" TEXT,
    "on_finish_attendance" TEXT,
    "on_receive_message" TEXT,
    "on_sending_message" TEXT,
    "on_message_status" TEXT,
    "on_message_delivery_error" TEXT,
    "extra" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "account_versions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "account_versions_valid_range" CHECK ("valid_to" IS NULL OR "valid_to" >= "valid_from")
);

-- A version outlives neither its account nor its run: both are plain foreign keys that refuse a delete.
ALTER TABLE "account_versions" ADD CONSTRAINT "account_versions_account_id_fkey"
    FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "account_versions" ADD CONSTRAINT "account_versions_run_id_fkey"
    FOREIGN KEY ("run_id") REFERENCES "sync_runs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- At most one current version per account; also how a batch finds the current versions it compares.
CREATE UNIQUE INDEX "account_versions_current_key" ON "account_versions"("account_id")
    WHERE "valid_to" IS NULL;
-- One account's versions in time order (its history, or its version at an instant).
CREATE INDEX "account_versions_account_from_idx" ON "account_versions"("account_id", "valid_from");
-- The versions valid at an instant, whatever the account: accounts_as_of. A GiST index on the version's
-- period reads only the versions of that time, which the sync wrote close together (in time order).
CREATE INDEX "account_versions_period_idx" ON "account_versions"
    USING gist (tstzrange("valid_from", "valid_to", '[)'));
-- Deleting a run (retention) checks that no version references it without reading the whole table.
CREATE INDEX "account_versions_run_id_idx" ON "account_versions"("run_id");

-- Each account's version at `at`: the one with valid_from <= at < valid_to (valid_to null: still
-- current). An account without a version then (not synced yet) is left out. A plain SELECT, so that
-- PostgreSQL inlines it into the caller's query: `WHERE account_id = ...` on it uses the indexes.
CREATE FUNCTION "accounts_as_of"("at" TIMESTAMPTZ) RETURNS SETOF "account_versions"
LANGUAGE sql STABLE AS $$
  SELECT *
    FROM account_versions v
   WHERE tstzrange(v.valid_from, v.valid_to, '[)') @> "at"
$$;

-- Per UTC day, from the day of the first version to today, the accounts as they were at the end of the
-- day (the versions valid at its last instant, i.e. accounts_as_of(day + 1 day - 1 microsecond)):
-- existing (Plugchat answered for them), of which active and inactive (`active` not true), and missing
-- (Plugchat answered 404). A version adds 1 on the UTC day it begins and removes 1 on the day it ends;
-- the counts are the running sums over days, so the cost grows with the versions, not days x versions.
CREATE VIEW "accounts_by_day" AS
WITH changes AS (
  SELECT (v."valid_from" AT TIME ZONE 'UTC')::date AS day, 1 AS sign, v."exists", v."active"
    FROM "account_versions" v
  UNION ALL
  SELECT (v."valid_to" AT TIME ZONE 'UTC')::date, -1, v."exists", v."active"
    FROM "account_versions" v
   WHERE v."valid_to" IS NOT NULL
),
per_day AS (
  SELECT day,
         sum(sign) FILTER (WHERE "exists") AS existing,
         sum(sign) FILTER (WHERE "exists" AND "active") AS active,
         sum(sign) FILTER (WHERE "exists" AND "active" IS NOT TRUE) AS inactive,
         sum(sign) FILTER (WHERE NOT "exists") AS missing
    FROM changes
   GROUP BY day
),
days AS (
  SELECT generate_series(min(day), GREATEST(max(day), (now() AT TIME ZONE 'UTC')::date), interval '1 day')::date AS day
    FROM per_day
)
SELECT d.day,
       (sum(COALESCE(p.existing, 0)) OVER w)::integer AS existing,
       (sum(COALESCE(p.active, 0)) OVER w)::integer AS active,
       (sum(COALESCE(p.inactive, 0)) OVER w)::integer AS inactive,
       (sum(COALESCE(p.missing, 0)) OVER w)::integer AS missing
  FROM days d
  LEFT JOIN per_day p ON p.day = d.day
WINDOW w AS (ORDER BY d.day);

-- The history of the accounts synced before this migration, rebuilt from their rows and drift. The
-- current version is the row itself. Each run that changed an account left drift rows with one
-- timestamp (its batch's transaction): that instant opens a version, whose values are the next
-- version's with that run's changed fields set back to their old values, walking back from the row.
-- Exact for the fields drift records; approximate where it cannot tell (docs/reporting-schema.md):
-- the start of the first version, extra fields before their first appearance, and the JSON type of
-- an extra field's older value.

-- The runs that changed each synced account, numbered in time order from 1. Set-based throughout (temporary
-- tables joined by hash), so that it takes seconds, not hours, on a database of 100,000 accounts.
CREATE TEMP TABLE "_version_groups" AS
SELECT d."account_id", d."sync_run_id" AS run_id, min(d."detected_at") AS at,
       (row_number() OVER (PARTITION BY d."account_id" ORDER BY min(d."detected_at"), d."sync_run_id"))::int AS k
  FROM "account_drift" d
  JOIN "accounts" a ON a."id" = d."account_id" AND a."last_synced_at" IS NOT NULL
 GROUP BY d."account_id", d."sync_run_id";
ANALYZE "_version_groups";

-- Each drift row tells its field's value in the versions before it, back to the field's previous
-- change: versions from_k to to_k (version k begins with the k-th run that changed the account).
CREATE TEMP TABLE "_version_spans" AS
SELECT d."account_id", d."field", d."old_value",
       COALESCE(lag(g.k) OVER (PARTITION BY d."account_id", d."field" ORDER BY g.k), 0) AS from_k,
       g.k - 1 AS to_k
  FROM "account_drift" d
  JOIN "_version_groups" g ON g."account_id" = d."account_id" AND g.run_id = d."sync_run_id";
ANALYZE "_version_spans";

-- Versions 0 (before the first change) to n (the current one) of each synced account. Version 0 begins
-- with the account's first sync as far as the data tells: the start of the first run still going when
-- the id was added (not before the id was added), or earlier if a drift row or its last sync says so.
-- Runs never overlap, so that run is the last one started by then if it had not finished, else the next.
CREATE TEMP TABLE "_versions" AS
SELECT a."id" AS account_id, s.k,
       CASE WHEN s.k = 0 THEN LEAST(GREATEST(fr.started_at, a."added_at"), g1.at, a."last_synced_at")
            ELSE g.at END AS valid_from,
       nx.at AS valid_to,
       CASE WHEN s.k = 0 THEN fr.id ELSE g.run_id END AS run_id,
       CASE WHEN s.k = 0 THEN fr.started_at END AS first_run_started_at
  FROM "accounts" a
  LEFT JOIN (SELECT "account_id", max(k) AS n FROM "_version_groups" GROUP BY "account_id") c
         ON c."account_id" = a."id"
 CROSS JOIN LATERAL generate_series(0, COALESCE(c.n, 0)) s(k)
  LEFT JOIN "_version_groups" g ON g."account_id" = a."id" AND g.k = s.k
  LEFT JOIN "_version_groups" g1 ON g1."account_id" = a."id" AND g1.k = 1
  LEFT JOIN "_version_groups" nx ON nx."account_id" = a."id" AND nx.k = s.k + 1
  LEFT JOIN LATERAL (
        SELECT r."id", r."started_at", r."finished_at" FROM "sync_runs" r
         WHERE r."started_at" <= a."added_at" ORDER BY r."started_at" DESC, r."id" DESC LIMIT 1) before_added
         ON s.k = 0
  LEFT JOIN LATERAL (
        SELECT r."id", r."started_at" FROM "sync_runs" r
         WHERE r."started_at" >= a."added_at" ORDER BY r."started_at", r."id" LIMIT 1) after_added
         ON s.k = 0
 CROSS JOIN LATERAL (
        SELECT CASE WHEN still_going THEN before_added."id" ELSE after_added."id" END AS id,
               CASE WHEN still_going THEN before_added."started_at" ELSE after_added."started_at" END AS started_at
          FROM (SELECT before_added."id" IS NOT NULL
                       AND COALESCE(before_added."finished_at", 'infinity') >= a."added_at" AS still_going) b) fr
 WHERE a."last_synced_at" IS NOT NULL;
ANALYZE "_versions";

-- Each version's older values, by the API's field name: the fields that change after it.
CREATE TEMP TABLE "_version_values" AS
SELECT v.account_id, v.k,
       COALESCE(jsonb_object_agg(s."field", s."old_value") FILTER (WHERE s."field" IS NOT NULL), '{}') AS older
  FROM "_versions" v
  LEFT JOIN "_version_spans" s ON s."account_id" = v.account_id AND v.k BETWEEN s.from_k AND s.to_k
 GROUP BY v.account_id, v.k;
ANALYZE "_version_values";

-- A field's value in a version: its older value if it changes later, else its value now.
CREATE FUNCTION pg_temp.value_in_version(p_older JSONB, p_field TEXT, p_now TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_older ? p_field THEN p_older ->> p_field ELSE p_now END
$$;

-- An extra field's older value from its drift text (strings as they are, other values as JSON): a
-- string when the field is a string now, else the JSON it reads as, else a string.
CREATE FUNCTION pg_temp.extra_value(p_text TEXT, p_now JSONB) RETURNS JSONB
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_text IS NULL THEN RETURN 'null'::jsonb; END IF;
  IF jsonb_typeof(p_now) = 'string' THEN RETURN to_jsonb(p_text); END IF;
  RETURN p_text::jsonb;
EXCEPTION WHEN others THEN
  RETURN to_jsonb(p_text);
END
$$;

-- `extra` in a version: the fields now, with those that change later set back.
CREATE FUNCTION pg_temp.extra_in_version(p_older JSONB, p_now JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_now || COALESCE(jsonb_object_agg(e.key, pg_temp.extra_value(e.value #>> '{}', p_now -> e.key)), '{}')
    FROM jsonb_each(p_older) e
   WHERE e.key NOT IN ('exists', 'externalId', 'name', 'active', 'onStartAttendance', 'onFinishAttendance',
                       'onReceiveMessage', 'onSendingMessage', 'onMessageStatus', 'onMessageDeliveryError')
$$;

INSERT INTO "account_versions" ("account_id", "valid_from", "valid_to", "run_id", "exists", "external_id",
    "name", "active", "on_start_attendance", "on_finish_attendance", "on_receive_message",
    "on_sending_message", "on_message_status", "on_message_delivery_error", "extra")
SELECT v.account_id, v.valid_from, v.valid_to,
       -- Version 0's run only when it is the run that began it (else not known: null).
       CASE WHEN v.k > 0 OR v.first_run_started_at <= v.valid_from THEN v.run_id END,
       pg_temp.value_in_version(o.older, 'exists', (a."missing_since" IS NULL)::text)::boolean,
       pg_temp.value_in_version(o.older, 'externalId', a."external_id"),
       pg_temp.value_in_version(o.older, 'name', a."name"),
       pg_temp.value_in_version(o.older, 'active', a."active"::text)::boolean,
       pg_temp.value_in_version(o.older, 'onStartAttendance', a."on_start_attendance"),
       pg_temp.value_in_version(o.older, 'onFinishAttendance', a."on_finish_attendance"),
       pg_temp.value_in_version(o.older, 'onReceiveMessage', a."on_receive_message"),
       pg_temp.value_in_version(o.older, 'onSendingMessage', a."on_sending_message"),
       pg_temp.value_in_version(o.older, 'onMessageStatus', a."on_message_status"),
       pg_temp.value_in_version(o.older, 'onMessageDeliveryError', a."on_message_delivery_error"),
       CASE WHEN o.older = '{}' THEN a."extra" ELSE pg_temp.extra_in_version(o.older, a."extra") END
  FROM "_versions" v
  JOIN "_version_values" o ON o.account_id = v.account_id AND o.k = v.k
  JOIN "accounts" a ON a."id" = v.account_id
 ORDER BY v.valid_from, v.account_id;

DROP FUNCTION pg_temp.extra_in_version(JSONB, JSONB);
DROP FUNCTION pg_temp.extra_value(TEXT, JSONB);
DROP FUNCTION pg_temp.value_in_version(JSONB, TEXT, TEXT);
DROP TABLE "_version_values", "_versions", "_version_spans", "_version_groups";
