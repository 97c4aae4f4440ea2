import { ExitCode, UserFacingError } from "../errors.js";
import { quoted } from "../lib/text.js";

/** Longest invalid id quoted back, "…" included: 40 of its characters. */
const SHOWN_ID_LENGTH = 41;

/** Lets callers branch on a failure without importing every class. */
export type PlugchatErrorKind =
  | "not_found"
  | "unauthorized"
  | "invalid_response"
  | "unavailable"
  | "invalid_account_id";

interface PlugchatErrorDetails {
  accountId: string;
  /** The HTTP status of the last answer, or null when none was received. */
  status: number | null;
  /** HTTP attempts made, retries included (0 when nothing was sent). */
  attempts: number;
  exitCode?: number;
}

/**
 * Base of every error the Plugchat client throws. On purpose these errors hold no request, no
 * headers, no options and no `cause`: anything reachable from them may be logged or printed, and
 * the token must never be.
 */
export abstract class PlugchatError extends UserFacingError {
  abstract readonly kind: PlugchatErrorKind;
  readonly accountId: string;
  readonly status: number | null;
  readonly attempts: number;

  protected constructor(message: string, details: PlugchatErrorDetails) {
    super(message, details.exitCode === undefined ? {} : { exitCode: details.exitCode });
    this.accountId = details.accountId;
    this.status = details.status;
    this.attempts = details.attempts;
  }
}

/** Plugchat has no account with this id (HTTP 404): skip it, the rest of the run can go on. */
export class PlugchatNotFoundError extends PlugchatError {
  readonly kind = "not_found" as const;

  constructor(accountId: string, attempts: number) {
    super(`Plugchat has no account ${accountId} (HTTP 404)`, { accountId, status: 404, attempts });
  }
}

/** The token was refused (HTTP 401 or 403). Every other account will fail too: stop the run. */
export class PlugchatUnauthorizedError extends PlugchatError {
  readonly kind = "unauthorized" as const;

  constructor(accountId: string, status: number, attempts: number) {
    super(`Plugchat refused the token (HTTP ${status}) for account ${accountId}: check PLUGCHAT_TOKEN`, {
      accountId,
      status,
      attempts,
      exitCode: ExitCode.badConfig,
    });
  }
}

/**
 * Plugchat answered something the client cannot use: a body that is not an account, a body over the
 * size limit, a redirect to another origin, or a status that is neither success nor worth a retry.
 */
export class PlugchatInvalidResponseError extends PlugchatError {
  readonly kind = "invalid_response" as const;
  /** The first account field at fault, when the problem is in one. */
  readonly field: string | null;

  constructor(details: {
    accountId: string;
    status: number | null;
    attempts: number;
    problem: string;
    field?: string | null;
  }) {
    super(`Plugchat sent an invalid response for account ${details.accountId}: ${details.problem}`, details);
    this.field = details.field ?? null;
  }
}

/** Every attempt failed on a transient problem; the account may succeed on a later run. */
export class PlugchatUnavailableError extends PlugchatError {
  readonly kind = "unavailable" as const;
  /** The last network error code (`ECONNRESET`, `TIMEOUT`...), or null when the last answer was HTTP. */
  readonly code: string | null;

  constructor(details: { accountId: string; status: number | null; code: string | null; attempts: number }) {
    const last = details.code ?? `HTTP ${details.status}`;
    const times = details.attempts === 1 ? "1 attempt" : `${details.attempts} attempts`;
    super(`Plugchat is unavailable for account ${details.accountId}: ${last} after ${times}`, details);
    this.code = details.code;
  }
}

/** The id cannot be an account id, so no request was sent. */
export class PlugchatInvalidAccountIdError extends PlugchatError {
  readonly kind = "invalid_account_id" as const;

  constructor(value: unknown) {
    super(`Invalid Plugchat account id ${quote(value)}: use 1 to 128 letters, digits, "-" or "_"`, {
      accountId: typeof value === "string" ? value : String(value),
      status: null,
      attempts: 0,
    });
  }
}

// Invalid ids come from files and command lines: keep the message on one short line whatever they hold.
function quote(value: unknown): string {
  if (typeof value !== "string") return `(${value === null ? "null" : typeof value})`;
  return quoted(value, SHOWN_ID_LENGTH);
}
