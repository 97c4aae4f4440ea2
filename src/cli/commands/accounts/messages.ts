// The wording shared by the `accounts` subcommands: counts, lists cut after a few entries, the id rule.
import type { InvalidIdLine } from "../../../accounts/id-file-parser.js";
import type { TrackResult } from "../../../accounts/repository.js";
import type { ExpectedAccountCounts } from "../../../db/sql/expectations.js";
import { UserFacingError } from "../../../errors.js";
import { quoted } from "../../../lib/text.js";
import { isValidAccountId } from "../../../plugchat/account-id.js";

/** How many offending ids or lines a message lists before it only says how many more there are. */
export const MAX_LISTED = 20;
export const ID_RULE = 'an account id is 1 to 128 ASCII letters, digits, "-" or "_"';
/** The only expected value a CSV's text can get wrong: every other field takes any text. */
export const VALUE_RULE = "an expected active is true, false, 1 or 0";

/** Refuses the whole command when any of the ids given on the command line is invalid. */
export function checkIds(ids: readonly string[], nothingDone: string): void {
  const invalid = ids.filter((id) => !isValidAccountId(id));
  if (invalid.length === 0) return;
  throw new UserFacingError(
    `${count(invalid.length, "invalid account id")}, ${nothingDone}: ${listed(invalid.map((id) => quoted(id)))} (${ID_RULE})`,
  );
}

export function describeTrack(result: TrackResult): string {
  return `${result.added} added, ${result.retracked} re-tracked, ${result.alreadyTracked} already tracked`;
}

/**
 * What an import did to the expected values, appended to its line: `; expected values: externalId,
 * active for 3 accounts (2 changed, 1 unchanged)`, and the accounts --replace cleared. Empty when the
 * file has no such columns and nothing was cleared.
 */
export function describeExpected(
  fields: readonly string[],
  counts: ExpectedAccountCounts | undefined,
  invalidValues: number,
): string {
  const { accounts, changing, cleared } = counts ?? { accounts: 0, changing: 0, cleared: 0 };
  if (fields.length === 0) {
    return cleared === 0
      ? ""
      : `; expected values removed from ${count(cleared, "account")}: the file has no expected value columns`;
  }
  const skipped = invalidValues > 0 ? `, ${count(invalidValues, "invalid value")} skipped` : "";
  const others = cleared > 0 ? `, removed from ${count(cleared, "other account")}` : "";
  return `; expected values: ${fields.join(", ")} for ${count(accounts, "account")} (${changing} changed, ${accounts - changing} unchanged${skipped})${others}`;
}

/** The invalid lines of a file, the first MAX_LISTED of them, then how many more. */
export function invalidLines(kept: readonly InvalidIdLine[], total: number): string[] {
  const shown = kept.slice(0, MAX_LISTED);
  const more = total - shown.length;
  return [...shown.map((entry) => entry.message), ...(more > 0 ? [`and ${more} more`] : [])];
}

export function listed(values: readonly string[]): string {
  const shown = values.slice(0, MAX_LISTED).join(", ");
  const more = values.length - MAX_LISTED;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
