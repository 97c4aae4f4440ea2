import type { AccountSourceSettings } from "../accounts/source/read-source.js";
import type { PrismaClient } from "../db/prisma.js";
import type { Logger } from "../logger.js";
import type { PlugchatAccount, PlugchatClient } from "../plugchat/index.js";
import type { ExtraFields } from "../plugchat/response.js";
import type { OutageSettings } from "./outage-detector.js";

/** What every step of a run works with. */
export interface SyncDependencies {
  prisma: PrismaClient;
  client: PlugchatClient;
  logger: Logger;
  /** ACCOUNT_SOURCE_*: when set, every run first makes the tracked set equal to the source's ids. */
  accountSource?: AccountSourceSettings | undefined;
  /** PLUGCHAT_OUTAGE_*: when Plugchat counts as down, and how long a run waits for it (defaults when absent). */
  outage?: OutageSettings | undefined;
}

export const RUN_TRIGGERS = ["schedule", "manual", "cli"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/**
 * `interrupted`: stopped by a signal to the process running it (`sync`), which let the batch being
 * written finish and closed the run itself; every batch it wrote is whole.
 */
export type RunStatus = "running" | "succeeded" | "partial" | "failed" | "interrupted";

/** What fetching one account from Plugchat gave, before it is compared with the database. */
export type FetchResult =
  | {
      id: string;
      kind: "ok";
      account: PlugchatAccount;
      unknownFields: readonly string[];
      /** The unknown fields' values, kept in `accounts.extra`; those too large are named in `cut`. */
      extra: ExtraFields;
    }
  | { id: string; kind: "not_found" }
  | { id: string; kind: "failed"; error: string };

/**
 * A run's counts. The one vocabulary used inside the project; log lines, notifications and the status
 * page's JSON show them under their own short names (see summary-counts.ts and status/queries.ts).
 */
export interface RunCounts {
  accountsTotal: number;
  accountsChanged: number;
  accountsUnchanged: number;
  accountsFailed: number;
  accountsNotFound: number;
  driftCount: number;
}

/** What a run plans to do when it opens, for its progress. */
export interface RunPlan {
  /** Tracked accounts when the run opened. */
  accountsPlanned: number;
  /** The batches they make, when the batch size was given. */
  batchesPlanned: number | null;
}

/** What the account source did at the start of a run (`sync_runs.source_*`). */
export interface AccountSourceRecord {
  /** `applied` (perhaps changing nothing), `refused` by the removal limit, or `skipped` (source unreachable, query failed). */
  outcome: "applied" | "refused" | "skipped";
  /** Distinct valid ids the source returned; null when it could not be read. */
  ids: number | null;
  added: number;
  /** Untracked ids the source returned again, tracked again. */
  retracked: number;
  removed: number;
  /** Values that are not account ids, skipped. */
  invalid: number;
  /** The first few of them, with the reason, e.g. `"a b" (not 1 to 128 ASCII letters...)`. */
  invalidExamples: string[];
  /** Why it was refused or skipped; null when applied. */
  error: string | null;
}

export interface RunSummary extends RunCounts {
  runId: number;
  trigger: RunTrigger;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
  unknownFields: string[];
  /** Unknown fields whose values were too large to keep (cut), in this run. */
  extraCutFields: string[];
  /** Null when no account source is configured (or the run began before the source was read). */
  accountSource: AccountSourceRecord | null;
  /** Disagreements with the integrator's records; null until the run is closed. */
  mismatches: MismatchCounts | null;
}

/** `sync_runs.mismatches_*`: open when the run closed, opened and resolved by it. */
export interface MismatchCounts {
  open: number;
  opened: number;
  resolved: number;
}
