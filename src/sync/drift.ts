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
  /** A synced field, `exists`, or the API's name of a field kept in `accounts.extra`. */
  field: string;
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
  /** The fields the project does not model, as last kept (`accounts.extra`). */
  extra: Record<string, unknown>;
}

/** What Plugchat answered for one account: its modelled fields, and the others' values. */
export interface FetchedValues {
  account: PlugchatAccount;
  extra: Record<string, unknown>;
}

export type AccountOutcome =
  | ({ kind: "baseline"; id: string; changes: FieldChange[] } & FetchedValues)
  | ({ kind: "changed"; id: string; changes: FieldChange[] } & FetchedValues)
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

/**
 * The changes of the fields kept in `accounts.extra`, in name order. A field the account did not
 * have is no drift (its first appearance is reported as an unknown field of the run); one the answer
 * leaves out says nothing about it. Values compare as canonical JSON: jsonb reorders object keys.
 */
function diffExtra(stored: Record<string, unknown>, fetched: Record<string, unknown>): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of Object.keys(fetched).sort()) {
    if (!Object.hasOwn(stored, field)) continue;
    const from = extraText(stored[field]);
    const to = extraText(fetched[field]);
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}

/** Whether the answer has an extra field the account does not have yet: kept, but no drift. */
function hasNewExtra(stored: Record<string, unknown>, fetched: Record<string, unknown>): boolean {
  return Object.keys(fetched).some((field) => !Object.hasOwn(stored, field));
}

/** An extra field's value as account_drift text: a string as it is, anything else as canonical JSON. */
function extraText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : canonicalJson(value);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Plugchat answered with the account. */
export function outcomeOfFetch(stored: StoredAccount, fetched: FetchedValues): AccountOutcome {
  const { id } = stored;
  if (stored.lastSyncedAt === null) return { kind: "baseline", id, ...fetched, changes: [] };
  const changes = [...diffFields(stored.values, fetched.account), ...diffExtra(stored.extra, fetched.extra)];
  // An account seen before, then missing, that comes back is drift even if no field changed.
  if (stored.missingSince !== null) changes.unshift({ field: EXISTS_FIELD, from: "false", to: "true" });
  if (changes.length === 0 && !hasNewExtra(stored.extra, fetched.extra)) return { kind: "unchanged", id };
  return { kind: "changed", id, ...fetched, changes };
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
