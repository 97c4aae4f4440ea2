// History at scale: `accounts` accounts with `versions` versions each in account_versions, spread over
// the year before now (a few of them 404 spells), written straight with SQL as a year of runs would
// have left them. Then the two reporting questions: accounts_as_of at an instant half a year ago
// (counted by state, which reads every row it returns; and fetched whole, as a BI tool would, which
// adds the transfer and node-pg's parsing of 100,000 rows), and accounts_by_day over the last year. Medians of
// `repeats` after one untimed call (which warms the cache).
import { resetAccounts, withClient } from "./database.mjs";

/** { accounts, versions, asOf: {countSeconds, fetchSeconds, rows}, byDay: {seconds, days} } */
export async function measureVersions({ url, accounts, versions, repeats, progress }) {
  await resetAccounts(url, []);
  try {
    await withClient(url, async (client) => {
      const began = Date.now();
      await fillHistory(client, accounts, versions);
      progress(`versions: ${accounts} accounts x ${versions} versions written in ${seconds(began)} s`);
    });
    return await withClient(url, async (client) => {
      const instant = "now() - interval '182 days'";
      // Counted by state, so that every row is read (a bare count(*) can skip the table's pages).
      const count = await timed(
        client,
        repeats,
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE active AND exists)::int AS active,
                count(*) FILTER (WHERE NOT exists)::int AS missing
           FROM accounts_as_of(${instant})`,
      );
      const fetch = await timed(client, repeats, `SELECT * FROM accounts_as_of(${instant})`);
      const byDay = await timed(
        client,
        repeats,
        "SELECT * FROM accounts_by_day WHERE day > (now() AT TIME ZONE 'UTC')::date - 365",
      );
      const found = count.result.rows[0].n;
      if (found !== accounts)
        throw new Error(`versions bench: accounts_as_of returned ${found} accounts, expected ${accounts}`);
      progress(
        `versions: accounts_as_of ${count.median} s (fetched ${fetch.median} s), accounts_by_day ${byDay.median} s`,
      );
      return {
        accounts,
        versions,
        repeats,
        asOf: { countSeconds: count.median, fetchSeconds: fetch.median, rows: count.result.rows[0].n },
        byDay: { seconds: byDay.median, days: byDay.result.rows.length },
      };
    });
  } finally {
    await resetAccounts(url, []);
  }
}

/**
 * Versions of equal length over the last 365 days, each account's shifted by a few minutes; every
 * seventh version is a 404 spell (exists = false), `active` alternates. One run per version index.
 * Inserted in time order, as a year of runs would have written them.
 */
async function fillHistory(client, accounts, versions) {
  await client.query(
    `INSERT INTO accounts (id, name, active, last_synced_at, last_status)
     SELECT 'acc-' || i, 'Account ' || i, true, now(), 'ok' FROM generate_series(1, $1) i`,
    [accounts],
  );
  await client.query(
    `INSERT INTO sync_runs (id, trigger, status, started_at, finished_at)
     SELECT j + 1, 'schedule', 'succeeded', now() - interval '365 days' + j * $1::int * interval '1 second',
            now() - interval '365 days' + j * $1::int * interval '1 second' + interval '10 minutes'
       FROM generate_series(0, $2 - 1) j`,
    [Math.floor((365 * 86_400) / versions), versions],
  );
  await client.query(
    `INSERT INTO account_versions (account_id, valid_from, valid_to, run_id, exists, name, active, extra)
     SELECT 'acc-' || i, start + j * step,
            CASE WHEN j < $2 - 1 THEN start + (j + 1) * step END,
            j + 1, j % 7 <> 3, 'Account ' || i || ' v' || j, (i + j) % 3 <> 0, '{}'
       FROM generate_series(1, $1) i,
            generate_series(0, $2 - 1) j,
            LATERAL (SELECT now() - interval '365 days' + (i % 600) * interval '1 second' AS start,
                            (365 * 86400 / $2) * interval '1 second' AS step) s
      ORDER BY 2, 1`,
    [accounts, versions],
  );
  await client.query("VACUUM ANALYZE account_versions");
  await client.query("ANALYZE accounts");
}

async function timed(client, repeats, sql) {
  let result = await client.query(sql);
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const began = Date.now();
    result = await client.query(sql);
    times.push((Date.now() - began) / 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], result };
}

function seconds(began) {
  return ((Date.now() - began) / 1000).toFixed(1);
}
