// Where drift is decided: pure functions from (what is stored, what Plugchat answered) to an outcome.
import type { PlugchatAccount } from "../plugchat/index.js";

/** The synced fields, by the API's names, in the order reports show them. */
export const SYNCED_FIELDS = [
  "externalId",
  "name",
  "active",
  "onStartAttendance",
  "onFinishAttendance",
  "onReceiveMessage",
  "onSendingMessage",
  "onMessageStatus",
  "onMessageDeliveryError",
] as const satisfies readonly (keyof PlugchatAccount)[];

type SyncedField = (typeof SYNCED_FIELDS)[number];

/** The pseudo-field recording an account that disappeared from Plugchat (404) or came back. */
export const EXISTS_FIELD = "exists";

export interface FieldChange {
  field: SyncedField | typeof EXISTS_FIELD;
  /** Values as text, as stored in account_drift: booleans become "true"/"false"; null stays null. */
  from: string | null;
  to: string | null;
}

/** What the database holds for one account before this run looks at it. */
export interface StoredAccount {
  id: string;
  /** Null until the first successful fetch: the next success sets the baseline. */
  lastSyncedAt: Date | null;
  /** Set while Plugchat answers 404 for the account. */
  missingSince: Date | null;
  values: { [F in SyncedField]: Exclude<PlugchatAccount[F], undefined> | null };
}

export type AccountOutcome =
  | { kind: "baseline"; id: string; account: PlugchatAccount; changes: FieldChange[] }
  | { kind: "changed"; id: string; account: PlugchatAccount; changes: FieldChange[] }
  | { kind: "unchanged"; id: string }
  | {
      kind: "not_found";
      id: string;
      changes: FieldChange[];
      /** True on the first 404 of a spell (no `missing_since` yet): the one worth a warning. */
      newlyMissing: boolean;
    }
  | { kind: "failed"; id: string; error: string };

function asText(value: string | boolean | null): string | null {
  return value === null ? null : String(value);
}

export function diffFields(stored: StoredAccount["values"], fetched: PlugchatAccount): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of SYNCED_FIELDS) {
    // A field the answer leaves out (one Plugchat does not always send) says nothing about it.
    if (fetched[field] === undefined) continue;
    const from = asText(stored[field] ?? null);
    const to = asText(fetched[field] ?? null);
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}

/** Plugchat answered with the account. */
export function outcomeOfFetch(stored: StoredAccount, fetched: PlugchatAccount): AccountOutcome {
  if (stored.lastSyncedAt === null) return { kind: "baseline", id: stored.id, account: fetched, changes: [] };
  const changes = diffFields(stored.values, fetched);
  // An account seen before, then missing, that comes back is drift even if no field changed.
  if (stored.missingSince !== null) changes.unshift({ field: EXISTS_FIELD, from: "false", to: "true" });
  if (changes.length === 0) return { kind: "unchanged", id: stored.id };
  return { kind: "changed", id: stored.id, account: fetched, changes };
}

/** Plugchat answered 404. Drift only on the transition from a known, existing account. */
export function outcomeOfNotFound(stored: StoredAccount): AccountOutcome {
  const disappeared = stored.lastSyncedAt !== null && stored.missingSince === null;
  return {
    kind: "not_found",
    id: stored.id,
    changes: disappeared ? [{ field: EXISTS_FIELD, from: "true", to: "false" }] : [],
    newlyMissing: stored.missingSince === null,
  };
}
