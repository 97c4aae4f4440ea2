// What is said about a finished run, and when: pure functions, no I/O.

import {
  describeAccountSource,
  describeMismatches,
  hasMismatchNews,
  summaryCounts,
} from "../sync/summary-counts.js";
import type {
  AccountSourceRecord,
  MismatchCounts,
  RunStatus,
  RunSummary,
  RunTrigger,
} from "../sync/types.js";

/**
 * The notification's shape. Fields are only ever added within a version; a field removed, renamed or
 * changed in meaning makes the next one. Documented in docs/operations.md#notifications.
 */
const NOTIFICATION_VERSION = 1;

/** Accounts listed in one notification for each kind of news (drift, failing, missing, mismatches), at most. */
export const MAX_LISTED_ACCOUNTS = 20;

interface FailingAccount {
  accountId: string;
  /** As last synced; null for an account never found. */
  name: string | null;
  /** The short reason stored in accounts.last_error (never the token). */
  error: string;
}

/** An account with drift in the run: the fields that changed (their values are in account_drift). */
interface DriftedAccount {
  accountId: string;
  name: string | null;
  fields: string[];
}

/** An account seen before that Plugchat answered 404 for in the run. */
interface MissingAccount {
  accountId: string;
  /** The name last synced. */
  name: string | null;
}

/** A disagreement with the integrator's records that the run found first. */
interface OpenedMismatch {
  accountId: string;
  name: string | null;
  field: string;
  /** Text as account_drift writes values ("true"/"false" for booleans); null is Plugchat's null. */
  expected: string | null;
  actual: string | null;
}

export interface NotificationDetails {
  /** Drift rows of the run, by field. */
  driftByField: Record<string, number>;
  /** Accounts with drift in the run, in id order; only the first 20 are sent. */
  driftedAccounts: DriftedAccount[];
  /** All the accounts with drift in the run. */
  driftedAccountsTotal: number;
  /** Accounts that failed in the run, in id order; only the first 20 are sent. */
  failingAccounts: FailingAccount[];
  /** Accounts that disappeared in the run, in id order; only the first 20 are sent. */
  missingAccounts: MissingAccount[];
  /** All the accounts that disappeared in the run. */
  missingAccountsTotal: number;
  /** Mismatches the run opened, by account and field; only the first 20 are sent. */
  openedMismatches: OpenedMismatch[];
}

/** Details of a run with nothing to list (or whose details could not be read). */
export const NO_DETAILS: NotificationDetails = {
  driftByField: {},
  driftedAccounts: [],
  driftedAccountsTotal: 0,
  failingAccounts: [],
  missingAccounts: [],
  missingAccountsTotal: 0,
  openedMismatches: [],
};

/** The JSON body POSTed to SYNC_NOTIFY_URL. */
export interface RunNotification {
  event: "sync_run.finished";
  /** NOTIFICATION_VERSION: the shape of this body. */
  version: typeof NOTIFICATION_VERSION;
  /** One line for people, e.g. shown as is by chat webhooks (Slack and Mattermost read `text`). */
  text: string;
  runId: number;
  trigger: RunTrigger;
  status: RunStatus;
  /** ISO 8601, UTC. */
  startedAt: string;
  finishedAt: string | null;
  counts: {
    total: number;
    changed: number;
    unchanged: number;
    failed: number;
    notFound: number;
    drift: number;
  };
  driftByField: Record<string, number>;
  /** The first 20 accounts with drift in the run, in id order. */
  driftedAccounts: DriftedAccount[];
  /** Accounts with drift that are not in `driftedAccounts`. */
  driftedAccountsNotListed: number;
  failingAccounts: FailingAccount[];
  /** Failed accounts of the run that are not in `failingAccounts` (the list is capped at 20). */
  failingAccountsNotListed: number;
  /** The first 20 accounts that disappeared in the run (seen before, 404 now), in id order. */
  missingAccounts: MissingAccount[];
  /** Disappeared accounts that are not in `missingAccounts`. */
  missingAccountsNotListed: number;
  /** Why a failed run stopped. */
  error: string | null;
  /** Fields Plugchat sent that this version does not know. */
  unknownFields: string[];
  /** What the account source did first (ACCOUNT_SOURCE_URL); null when none is configured. */
  accountSource: AccountSourceRecord | null;
  /** Mismatches with the integrator's records: open when the run closed, opened and resolved by it. */
  mismatches: MismatchCounts | null;
  /** The first 20 mismatches the run opened, by account and field. */
  openedMismatches: OpenedMismatch[];
  /** Mismatches the run opened that are not in `openedMismatches` (the list is capped at 20). */
  openedMismatchesNotListed: number;
}

/**
 * Worth telling someone: something drifted, some accounts failed, the run failed, the account source
 * could not be followed (refused by the removal limit, or unreadable), or the run found accounts
 * newly out of sync with the integrator's records.
 */
export function shouldNotify(summary: RunSummary): boolean {
  const sourceTrouble = summary.accountSource !== null && summary.accountSource.outcome !== "applied";
  const newMismatches = (summary.mismatches?.opened ?? 0) > 0;
  return (
    summary.driftCount > 0 ||
    summary.accountsFailed > 0 ||
    summary.status === "failed" ||
    sourceTrouble ||
    newMismatches
  );
}

export function buildRunNotification(summary: RunSummary, details: NotificationDetails): RunNotification {
  const failingAccounts = details.failingAccounts
    .slice(0, MAX_LISTED_ACCOUNTS)
    .map(({ accountId, name, error }) => ({ accountId, name, error }));
  const driftedAccounts = details.driftedAccounts
    .slice(0, MAX_LISTED_ACCOUNTS)
    .map(({ accountId, name, fields }) => ({ accountId, name, fields: [...fields] }));
  const missingAccounts = details.missingAccounts
    .slice(0, MAX_LISTED_ACCOUNTS)
    .map(({ accountId, name }) => ({ accountId, name }));
  const driftByField = Object.fromEntries(
    Object.entries(details.driftByField)
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const counts = summaryCounts(summary);
  const openedMismatches = details.openedMismatches
    .slice(0, MAX_LISTED_ACCOUNTS)
    .map(({ accountId, name, field, expected, actual }) => ({ accountId, name, field, expected, actual }));
  return {
    event: "sync_run.finished",
    version: NOTIFICATION_VERSION,
    text: summaryLine(summary, driftByField),
    runId: summary.runId,
    trigger: summary.trigger,
    status: summary.status,
    startedAt: summary.startedAt.toISOString(),
    finishedAt: summary.finishedAt?.toISOString() ?? null,
    counts,
    driftByField,
    driftedAccounts,
    driftedAccountsNotListed: Math.max(0, details.driftedAccountsTotal - driftedAccounts.length),
    failingAccounts,
    failingAccountsNotListed: Math.max(0, summary.accountsFailed - failingAccounts.length),
    missingAccounts,
    missingAccountsNotListed: Math.max(0, details.missingAccountsTotal - missingAccounts.length),
    error: summary.error,
    unknownFields: [...summary.unknownFields].sort(),
    accountSource: summary.accountSource,
    mismatches: summary.mismatches,
    openedMismatches,
    openedMismatchesNotListed: Math.max(0, (summary.mismatches?.opened ?? 0) - openedMismatches.length),
  };
}

function summaryLine(summary: RunSummary, driftByField: Record<string, number>): string {
  const fields = Object.entries(driftByField).map(([field, count]) => `${field} ${count}`);
  const parts = [
    `${summary.accountsTotal} accounts`,
    `${summary.accountsChanged} changed`,
    `${summary.accountsFailed} failed`,
    `${summary.accountsNotFound} not found`,
    `${summary.driftCount} drift${fields.length > 0 ? ` (${fields.join(", ")})` : ""}`,
  ];
  const error = summary.error ? `: ${summary.error}` : "";
  const source =
    summary.accountSource && summary.accountSource.outcome !== "applied"
      ? `; account source ${describeAccountSource(summary.accountSource)}`
      : "";
  const mismatches = hasMismatchNews(summary.mismatches)
    ? `; mismatches with your records: ${describeMismatches(summary.mismatches)}`
    : "";
  return `plugchat-sync run #${summary.runId} ${summary.status}${error} (${parts.join(", ")})${source}${mismatches}`;
}
