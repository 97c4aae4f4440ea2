// Option parsers shared by commands: each refuses a bad value with commander's one-line error.
import { InvalidArgumentError } from "commander";
import { isValidAccountId } from "../plugchat/account-id.js";

/** `--account <id>`: a valid account id, before it reaches any query. */
export function accountIdArgument(value: string): string {
  if (!isValidAccountId(value)) {
    throw new InvalidArgumentError('not a Plugchat account id (1 to 128 letters, digits, "-" or "_")');
  }
  return value;
}

/** A run's number, `12` or `#12` (as `report` shows it): a positive integer PostgreSQL's `integer` holds. */
export function runIdArgument(value: string): number {
  const digits = value.startsWith("#") ? value.slice(1) : value;
  const runId = /^[0-9]{1,10}$/.test(digits) ? Number(digits) : Number.NaN;
  if (!(runId >= 1 && runId <= 2_147_483_647)) {
    throw new InvalidArgumentError("expected a run number such as 12 (sync_runs.id, as report shows it)");
  }
  return runId;
}
