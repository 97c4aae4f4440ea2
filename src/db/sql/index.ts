// The SQL of the reporting database, one module per group of tables, one function per statement (or per
// small read). Every function takes the database first (the Prisma client, or the transaction it runs
// in), then its arguments, and returns plain values. The policy around the statements (what to run,
// in which transaction, what to do with the result) stays with the step that runs them.
//
// What a run writes, step by step:
// 1. Open (sync/run-lifecycle.ts `openRun`): runs.closeAbandonedRuns, runs.runningRun,
//    accounts.countTrackedAccounts, runs.insertRun, batches.deleteRunBatches.
// 2. The account source, when one is set (accounts/source/reconcile.ts, one transaction):
//    source.lockReconciliation, source.createSourceIdsTable and
//    expectations.createSourceExpectationsTable, expectations.readStoredDigestPrefixes (when the rows
//    expect values), then per page source.insertSourceIds, or
//    expectations.insertSourceIdsWithExpectations when some of its accounts' values changed, then
//    source.analyzeSourceIds, expectations.analyzeSourceExpectations, source.countSourceChanges,
//    source.sampleSourceChanges, then, unless refused, source.addSourceIds, source.retrackSourceIds,
//    source.untrackMissingIds, expectations.applySourceExpectations (values, then the digests of
//    those it stored). The run's row then gets runs.recordAccountSource and, when the tracked set
//    changed, runs.updateRunPlan.
// 3. Batches: accounts.trackedIdsAfter reads the tracked ids, cut into batches (sync/batch-sizes.ts);
//    each batch reads batches.batchState, then writes in one transaction (sync/write-batch.ts):
//    runs.lockRunStatus, batches.claimBatch, accounts.readAccounts, accounts.lockAccounts (only the rows
//    it writes: an account unchanged after a success is not written, its batch's row lists it),
//    accounts.writeSyncedData (data and status in one write), accounts.markFound (unchanged after a
//    failure), accounts.markNotFound, accounts.markFailed, versions.closeStaleVersions,
//    versions.openVersions (each account's current version made equal to its row, at the drift rows'
//    instant), drift.insertDrift, runs.addBatchCounts, batches.setBatchTotals. A refused token records
//    runs.recordStopReason, which stops the other batches. Meanwhile runs.heartbeat keeps the run from
//    looking abandoned, and runs.addFetchedAccounts (about once a second per process,
//    sync/fetched-accounts.ts) moves its progress before a batch is written.
// 4. Close (sync/run-lifecycle.ts `completeRun`): runs.closeRun, mismatches.refreshMismatches (one
//    check only when no expectation is recorded and no mismatch is open; otherwise it compares the
//    accounts written since the last comparison, which triggers list in account_mismatch_checks) and
//    mismatches.recordMismatchCounts in one transaction, then runs.findRun for the summary.
//    `runs close` (sync/close-by-hand.ts) reads runs.runLiveness first, then closes the same way.
//
// Read by the metrics' deployment gauges (deployment.accountsByState, deployment.runFigures,
// mismatches.mismatchCountsByField). Read by the status page (status-page.ts, runs.recentRuns, runs.runProgressRow, drift.driftByDay,
// drift.recentDrift), `report` (runs.recentRuns, drift.driftSince) and notifications
// (drift.driftCountsByField, accounts.failedInRun). `mismatches`, the status page and the demo list
// the account_mismatches view with mismatch-list.listMismatches and
// mismatch-list.countUnverifiedAccounts. `plugchat-sync accounts` writes the tracked set with
// accounts.trackIds and accounts.untrackIds and lists it with accounts.accountsPage; the demo drops its
// own database with databases.dropDatabaseIfExists. Retention (retention/prune.ts, for the worker and
// `prune`): under retention.tryPruneLock, per table retention.pruneChunk
// (or retention.countDue for a dry run), the runs last with retention.pruneRunsChunk (countDueRuns).
// The queue's own statements (the PostgreSQL rate cap, readiness) are in queue.ts.
// The history (account_versions) is read by people and BI tools only, through the function
// accounts_as_of and the view accounts_by_day, which live in the migration 20261205220000_account_versions.
// Not here: the migration runner's bookkeeping (src/db/migrations, as `prisma migrate deploy` does it)
// and the integrator's own query on their database (src/accounts/source/read-*.ts).
import type { Prisma } from "../../generated/prisma/client.js";

/** The Prisma client or a transaction of it: every function here runs in either. */
export type Db = Prisma.TransactionClient;

/**
 * What a function that only reads with tagged templates needs: a Prisma client, or one plain
 * connection (src/db/plain-connection.ts) for short commands such as `report`. Such a function
 * selects with casts that both drivers return alike (int4, text, timestamptz, text[]; never int8).
 */
export type Reader = Pick<Db, "$queryRaw">;
