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

export interface RunSummary extends RunCounts {
  runId: number;
  trigger: RunTrigger;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
  unknownFields: string[];
}
