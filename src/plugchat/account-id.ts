import { PlugchatInvalidAccountIdError } from "./errors.js";

// ASCII only: ids end up in URL paths and log lines, where anything wider invites traversal
// (`../x`), encoding surprises and look-alike characters.
const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** True when `value` is a Plugchat account id: 1 to 128 ASCII letters, digits, `-` or `_`. */
export function isValidAccountId(value: unknown): value is string {
  return typeof value === "string" && ACCOUNT_ID_PATTERN.test(value);
}

/** Throws `PlugchatInvalidAccountIdError` unless `value` is a valid account id. */
export function assertValidAccountId(value: unknown): asserts value is string {
  if (!isValidAccountId(value)) throw new PlugchatInvalidAccountIdError(value);
}
