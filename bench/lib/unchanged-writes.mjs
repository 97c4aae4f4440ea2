// What unchanged runs write: a first run (baselines), then `runs` unchanged runs of `runSync` (0 ms,
// concurrency 64), each measured by the WAL it made; then dead tuples and the growth of `accounts`.
// WAL is the server's: the LSN moved by the run, and, where pg_walinspect can be installed, only the
// records of the bench database (its blocks, and the commits of the transactions that wrote them),
// since other databases of a shared server write WAL at the same time. One more unchanged run follows
// a CHECKPOINT: the first change of each page after one logs the whole page.
import { createLogger } from "../../build/logger.js";
import { runSync } from "../../build/sync/run-in-process.js";
import { countingPrisma, resetAccounts, withClient } from "./database.mjs";
import { BATCH_SIZE, benchClient, round } from "./throughput.mjs";

const CONCURRENCY = 64;
const MB = 2 ** 20;

async function run(url, client) {
  const { prisma } = countingPrisma(url);
  try {
    const summary = await runSync(
      { prisma, client, logger: createLogger({ level: "warn", pretty: false }) },
      { trigger: "cli", concurrency: CONCURRENCY, batchSize: BATCH_SIZE },
    );
    if (summary.status !== "succeeded")
      throw new Error(`bench run did not succeed: ${JSON.stringify(summary)}`);
    return summary;
  } finally {
    await prisma.$disconnect();
  }
}

/**
 * Whether pg_walinspect is there (it needs a superuser to install); WAL is then told per database. A
 * temporary replication slot (gone with this session) keeps the WAL to read from being recycled.
 */
async function walInspect(pg) {
  try {
    await pg.query("CREATE EXTENSION IF NOT EXISTS pg_walinspect");
    await pg.query(
      "SELECT pg_create_physical_replication_slot('plugchat_bench_' || pg_backend_pid(), true, true)",
    );
    return true;
  } catch {
    return false;
  }
}

const lsn = async (pg) => (await pg.query("SELECT pg_current_wal_lsn() AS lsn")).rows[0].lsn;

/** WAL bytes between two LSNs: the server's, and this database's when pg_walinspect is there. */
async function walBetween(pg, from, to, inspect) {
  const { rows } = await pg.query("SELECT pg_wal_lsn_diff($2, $1)::bigint AS bytes", [from, to]);
  const server = Number(rows[0].bytes);
  if (!inspect) return { server, database: null };
  const mine = await pg.query(
    `WITH records AS (SELECT * FROM pg_get_wal_records_info($1, $2)),
          ours AS (SELECT * FROM records
                    WHERE block_ref LIKE '%/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/%'),
          xids AS (SELECT DISTINCT xid FROM ours WHERE xid <> 0)
     SELECT COALESCE(sum(record_length), 0)::bigint AS bytes FROM records
      WHERE start_lsn IN (SELECT start_lsn FROM ours)
         OR (resource_manager = 'Transaction' AND xid IN (SELECT xid FROM xids))`,
    [from, to],
  );
  return { server, database: Number(mine.rows[0].bytes) };
}

/** Statistics of accounts, once two readings agree (backends report theirs when idle or gone). */
async function accountsStats(pg) {
  let last = null;
  for (let attempt = 0; attempt < 50; attempt++) {
    await pg.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await pg.query(
      `SELECT n_dead_tup::bigint AS dead, n_tup_upd::bigint AS upd, n_tup_hot_upd::bigint AS hot,
              pg_total_relation_size('accounts')::bigint AS size
         FROM pg_stat_user_tables WHERE relname = 'accounts'`,
    );
    const now = JSON.stringify(rows[0]);
    if (now === last) break;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const row = JSON.parse(last);
  return { dead: Number(row.dead), updated: Number(row.upd), hot: Number(row.hot), bytes: Number(row.size) };
}

/** What reading every account's times costs now: account_current_state, whole, the best of 3. */
async function readViewMs(pg) {
  const times = [];
  for (let index = 0; index < 3; index++) {
    const started = performance.now();
    await pg.query("SELECT max(last_synced_at), max(last_attempt_at) FROM account_current_state");
    times.push(performance.now() - started);
  }
  return Math.min(...times);
}

const tableBytes = async (pg, table) =>
  Number((await pg.query("SELECT pg_total_relation_size($1)::bigint AS size", [table])).rows[0].size);

/** The figures of `runs` unchanged runs of `ids` after a first run, per 10,000 accounts. */
export async function measureUnchangedWrites({ url, simulator, ids, runs, progress }) {
  const client = benchClient(simulator.url);
  await simulator.setLatency(0);
  await resetAccounts(url, ids);
  await run(url, client);
  const per10k = 10_000 / ids.length;
  return withClient(url, async (pg) => {
    const inspect = await walInspect(pg);
    const first = await accountsStats(pg);
    const batchesBefore = await tableBytes(pg, "sync_run_batches");
    const wal = [];
    for (let index = 0; index < runs; index++) {
      const from = await lsn(pg);
      await run(url, client);
      wal.push(await walBetween(pg, from, await lsn(pg), inspect));
    }
    const after = await accountsStats(pg);
    const batchesAfter = await tableBytes(pg, "sync_run_batches");
    const viewMs = await readViewMs(pg);
    let afterCheckpoint = null;
    try {
      await pg.query("CHECKPOINT");
      const from = await lsn(pg);
      await run(url, client);
      afterCheckpoint = await walBetween(pg, from, await lsn(pg), inspect);
    } catch (error) {
      progress(`unchanged writes: no run after a CHECKPOINT (${error.message})`);
    }
    const figure = (bytes) => round((bytes * per10k) / MB, 3);
    const measured = wal.map((entry) => entry.database ?? entry.server);
    const median = [...measured].sort((a, b) => a - b)[Math.floor(measured.length / 2)];
    const result = {
      unchangedRuns: runs,
      walMeasuredBy: inspect ? "pg_walinspect (bench database only)" : "pg_current_wal_lsn (whole server)",
      walBytesPer10k: Math.round(median * per10k),
      walMBPer10k: figure(median),
      walMBPer10kEachRun: measured.map(figure),
      walMBPer10kServerEachRun: wal.map((entry) => figure(entry.server)),
      walMBPer10kAfterCheckpoint:
        afterCheckpoint === null ? null : figure(afterCheckpoint.database ?? afterCheckpoint.server),
      deadTuplesAfter20Runs: after.dead,
      deadTuplesAddedBy20Runs: after.dead - first.dead,
      updatesIn20Runs: after.updated - first.updated,
      hotUpdatesIn20Runs: after.hot - first.hot,
      accountsMBAfterFirstRun: round(first.bytes / MB, 2),
      accountsMBAfter20Runs: round(after.bytes / MB, 2),
      tableGrowthAfter20Runs: round(after.bytes / first.bytes, 3),
      syncRunBatchesKBPerRun: round((batchesAfter - batchesBefore) / runs / 1024, 1),
      currentStateMsPer10k: round(viewMs * per10k),
    };
    progress(
      `unchanged writes: ${result.walMBPer10k} MB of WAL per run (after a checkpoint ${result.walMBPer10kAfterCheckpoint}), ${result.deadTuplesAfter20Runs} dead tuples, accounts x${result.tableGrowthAfter20Runs}`,
    );
    return result;
  });
}
