import type { PlugchatAccount } from "../plugchat/index.js";

export const RUN_TRIGGERS = ["schedule", "manual", "cli"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export type RunStatus = "running" | "succeeded" | "partial" | "failed";

/** What fetching one account from Plugchat gave, before it is compared with the database. */
export type FetchResult =
  | { id: string; kind: "ok"; account: PlugchatAccount; unknownFields: readonly string[] }
  | { id: string; kind: "not_found" }
  | { id: string; kind: "failed"; error: string };

export interface RunCounts {
  accountsTotal: number;
  accountsChanged: number;
  accountsUnchanged: number;
  accountsFailed: number;
  accountsNotFound: number;
  driftCount: number;
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
  /** Null when no account source is configured (or the run began before the source was read). */
  accountSource: AccountSourceRecord | null;
}
