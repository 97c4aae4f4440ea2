// A finished run's summary as runSync returns it, for tests of what is made of one (notification,
// metrics) without running a sync: a quiet run of 100 accounts unless `overrides` say otherwise.
import type { AccountSourceRecord, RunSummary } from "../../src/sync/types.js";

export function runSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 42,
    trigger: "schedule",
    status: "succeeded",
    startedAt: new Date("2026-01-05T10:00:00.000Z"),
    finishedAt: new Date("2026-01-05T10:02:03.500Z"),
    error: null,
    unknownFields: [],
    extraCutFields: [],
    accountsTotal: 100,
    accountsChanged: 0,
    accountsUnchanged: 100,
    accountsFailed: 0,
    accountsNotFound: 0,
    driftCount: 0,
    accountSource: null,
    mismatches: { open: 0, opened: 0, resolved: 0 },
    ...overrides,
  };
}

/** What the account source step records: 10 ids that changed nothing, unless `overrides` say otherwise. */
export function accountSourceRecord(
  overrides: Partial<AccountSourceRecord> & Pick<AccountSourceRecord, "outcome">,
): AccountSourceRecord {
  return {
    ids: 10,
    added: 0,
    retracked: 0,
    removed: 0,
    invalid: 0,
    invalidExamples: [],
    error: null,
    ...overrides,
  };
}
