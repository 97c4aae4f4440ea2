// What a reconciliation decides, without I/O: which source values are ids, and whether the changes
// may be applied (the removal limit). The SQL that counts and applies them is in reconcile.ts.
import { quoted } from "../../lib/text.js";
import { isValidAccountId } from "../../plugchat/account-id.js";

/** Invalid values named in messages and on the run's row; the rest are only counted. */
export const MAX_INVALID_NAMED = 5;

/** One value of the source's first column that is not an account id, and why. */
export interface InvalidSourceValue {
  /** As text, JSON-quoted and cut after 40 characters, so that it is safe in one log line. */
  value: string;
  reason: string;
}

/** Whether one value of the source's first column is an account id; NULL is counted on its own. */
export function classifySourceValue(
  value: unknown,
): { kind: "id"; id: string } | { kind: "null" } | { kind: "invalid"; invalid: InvalidSourceValue } {
  if (value === null || value === undefined) return { kind: "null" };
  // Drivers give numbers, bigints and buffers for such columns: an integer id column is a fair source.
  const text =
    typeof value === "string"
      ? value.trim()
      : typeof value === "number" || typeof value === "bigint"
        ? String(value)
        : Buffer.isBuffer(value)
          ? value.toString("utf8").trim()
          : undefined;
  if (text === undefined) {
    return { kind: "invalid", invalid: { value: `(${typeOf(value)})`, reason: "not text" } };
  }
  if (isValidAccountId(text)) return { kind: "id", id: text };
  return { kind: "invalid", invalid: { value: quoted(text, 41), reason: invalidReason(text) } };
}

function invalidReason(text: string): string {
  return text === ""
    ? "empty"
    : text.length > 128
      ? "longer than 128 characters"
      : 'not 1 to 128 ASCII letters, digits, "-" or "_"';
}

/** What the source's ids would change, counted in the sync database. */
export interface ReconcileCounts {
  /** Distinct valid ids the source returned. */
  sourceIds: number;
  /** Accounts tracked before the reconciliation. */
  tracked: number;
  /** Ids never seen before: new rows. */
  added: number;
  /** Ids of untracked rows that the source returns again. */
  retracked: number;
  /** Tracked ids the source no longer returns. */
  removed: number;
}

type ReconcileDecision = { kind: "apply" } | { kind: "refused"; reason: string };

export interface RemovalLimit {
  /** The largest share of the tracked ids that may be untracked at once, 0 to 1. */
  maxShare: number;
  /** Go past the limit (`accounts import --replace --force`). */
  force?: boolean;
  /** How to go past it, for the refusal's message. */
  howToOverride: string;
}

/**
 * Applies the changes unless they untrack more than `maxShare` of the tracked ids. A source that
 * suddenly returns far fewer ids is far more often broken (an empty replica, a bad WHERE) than
 * right, and untracking is what the integrator would notice last; so it is refused, in one line.
 */
export function decideReconciliation(counts: ReconcileCounts, limit: RemovalLimit): ReconcileDecision {
  if (limit.force || counts.removed === 0) return { kind: "apply" };
  const allowed = Math.floor(counts.tracked * limit.maxShare);
  if (counts.removed <= allowed) return { kind: "apply" };
  const share = counts.tracked === 0 ? 1 : counts.removed / counts.tracked;
  return {
    kind: "refused",
    reason: `the source would untrack ${counts.removed} of ${counts.tracked} tracked accounts (${percent(share)}), above the removal limit of ${percent(limit.maxShare)}: nothing was changed; check the source (an empty replica, a broken WHERE?), then ${limit.howToOverride}`,
  };
}

function percent(share: number): string {
  const value = share * 100;
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}

function typeOf(value: unknown): string {
  if (value instanceof Date) return "a date";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
