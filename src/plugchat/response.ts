import { z } from "zod";
import { truncate } from "../lib/text.js";

/** One account as `GET /integrator/account/{id}/` describes it. */
export interface PlugchatAccount {
  externalId: string | null;
  name: string;
  active: boolean;
  onStartAttendance: string | null;
  onFinishAttendance: string | null;
  onReceiveMessage: string | null;
  onSendingMessage: string | null;
  onMessageStatus: string | null;
  /**
   * On Plugchat's create-account page, not its get-account page: undefined when the answer leaves it
   * out, which says nothing about it (the stored value is kept, no drift).
   */
  onMessageDeliveryError?: string | null | undefined;
}

/**
 * Longest values stored, in characters (Unicode code points, as PostgreSQL counts them). A longer
 * value fails its account with a clear error rather than being cut: a cut value would be garbage
 * stored as if Plugchat had sent it, and would show up as drift on every later run.
 *
 * Webhooks: 2,048 is the longest URL that every browser, proxy and CDN is known to carry (the
 * sitemaps protocol and many HTTP stacks use it as their limit); a longer "webhook" is not an
 * endpoint anyone can call, so it is a broken answer. Names and external ids: 1,024, far above any
 * business name or integrator key, far below what would bloat the reporting tables.
 */
export const MAX_WEBHOOK_LENGTH = 2_048;
export const MAX_NAME_LENGTH = 1_024;
export const MAX_EXTERNAL_ID_LENGTH = 1_024;

/** Unknown field names reported (and their values kept) per account, at most; a real API change adds a few. */
export const MAX_UNKNOWN_FIELDS = 20;
/** Longest value of an unknown field kept, in characters of its JSON text; a longer one is cut. */
export const MAX_EXTRA_VALUE_LENGTH = 2_048;
/**
 * Never kept as extra fields: account_drift's pseudo-field for an account that disappeared, and a
 * name that would be an object's prototype wherever the values are read back into an object.
 */
const RESERVED_FIELDS: ReadonlySet<string> = new Set(["exists", "__proto__"]);
const MAX_UNKNOWN_FIELD_NAME_LENGTH = 64;

/**
 * A string that can be stored exactly as received: PostgreSQL's text cannot hold U+0000, and an
 * unpaired surrogate is not Unicode at all (it would be stored as U+FFFD, i.e. changed). Everything
 * else, control characters, RTL marks, emoji and combining marks included, is data and kept verbatim.
 */
const text = (max: number) =>
  z.string().superRefine((value, ctx) => {
    const problem = textProblem(value, max);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** The account as Plugchat must send it: the rules, and the messages that say what broke them. */
export const accountSchema = z.object({
  externalId: text(MAX_EXTERNAL_ID_LENGTH).nullable(),
  name: text(MAX_NAME_LENGTH),
  active: z.boolean(),
  onStartAttendance: text(MAX_WEBHOOK_LENGTH).nullable(),
  onFinishAttendance: text(MAX_WEBHOOK_LENGTH).nullable(),
  onReceiveMessage: text(MAX_WEBHOOK_LENGTH).nullable(),
  onSendingMessage: text(MAX_WEBHOOK_LENGTH).nullable(),
  onMessageStatus: text(MAX_WEBHOOK_LENGTH).nullable(),
  onMessageDeliveryError: text(MAX_WEBHOOK_LENGTH).nullable().optional(),
}) satisfies z.ZodType<PlugchatAccount>;

const ACCOUNT_FIELDS: readonly string[] = Object.keys(accountSchema.shape);

/**
 * The fields Plugchat sent that the project does not model, with their values as sent (kept in
 * `accounts.extra`), and the names of those that could not be kept: past MAX_UNKNOWN_FIELDS, a value
 * past MAX_EXTRA_VALUE_LENGTH, or one PostgreSQL's jsonb cannot hold (NUL, an unpaired surrogate).
 */
export interface ExtraFields {
  values: Record<string, unknown>;
  cut: string[];
}

/** Throws on bytes that are not UTF-8; one for every body (a whole `decode` call keeps no state). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

type ParsedAccount =
  | { ok: true; account: PlugchatAccount; unknownFields: string[]; extra: ExtraFields }
  | { ok: false; problem: string; field: string | null };

/**
 * Reads an account from a response body. Problems name the field and the types involved, never the
 * values: account data belongs to the integrator's customers and ends up in logs.
 */
export function parseAccountBody(body: Uint8Array): ParsedAccount {
  let json: string;
  try {
    json = UTF8.decode(body);
  } catch {
    return { ok: false, problem: "the body is not JSON: it is not valid UTF-8", field: null };
  }
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return { ok: false, problem: `the body is not JSON: ${syntaxProblem(json, error)}`, field: null };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, problem: `the body is not a JSON object (got ${typeName(data)})`, field: null };
  }
  const record = data as Record<string, unknown>;
  const accepted = acceptedAsIs(record);
  if (accepted === undefined) {
    const result = accountSchema.safeParse(record);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => describeIssue(issue, record));
      const field = result.error.issues[0]?.path[0];
      return { ok: false, problem: problems.join("; "), field: typeof field === "string" ? field : null };
    }
    return { ok: true, account: result.data, ...unknownFieldsOf(record) };
  }
  return { ok: true, account: accepted, ...unknownFieldsOf(record) };
}

/**
 * The account, when the schema would accept `record` as it is: the same checks, written out, with no
 * parse context, issue list or result made for each of thousands of accounts a second. Undefined for
 * anything else, which the schema then parses, to say what is wrong (or, should the two ever differ,
 * to accept it: test/plugchat/response.test.ts checks that they agree).
 */
export function acceptedAsIs(record: Record<string, unknown>): PlugchatAccount | undefined {
  const { externalId, name, active, onMessageDeliveryError } = record;
  const { onStartAttendance, onFinishAttendance, onReceiveMessage, onSendingMessage, onMessageStatus } =
    record;
  if (
    typeof active !== "boolean" ||
    !isText(name, MAX_NAME_LENGTH) ||
    !isTextOrNull(externalId, MAX_EXTERNAL_ID_LENGTH) ||
    !isTextOrNull(onStartAttendance, MAX_WEBHOOK_LENGTH) ||
    !isTextOrNull(onFinishAttendance, MAX_WEBHOOK_LENGTH) ||
    !isTextOrNull(onReceiveMessage, MAX_WEBHOOK_LENGTH) ||
    !isTextOrNull(onSendingMessage, MAX_WEBHOOK_LENGTH) ||
    !isTextOrNull(onMessageStatus, MAX_WEBHOOK_LENGTH) ||
    !(onMessageDeliveryError === undefined || isTextOrNull(onMessageDeliveryError, MAX_WEBHOOK_LENGTH))
  ) {
    return undefined;
  }
  const account: PlugchatAccount = {
    externalId,
    name,
    active,
    onStartAttendance,
    onFinishAttendance,
    onReceiveMessage,
    onSendingMessage,
    onMessageStatus,
  };
  // Left out when absent, as the schema leaves an optional field out.
  if (Object.hasOwn(record, "onMessageDeliveryError"))
    account.onMessageDeliveryError = onMessageDeliveryError;
  return account;
}

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && textProblem(value, max) === undefined;
}

function isTextOrNull(value: unknown, max: number): value is string | null {
  return value === null || isText(value, max);
}

/** The fields of `record` the account does not have: their names, and their values as kept. */
function unknownFieldsOf(record: Record<string, unknown>): { unknownFields: string[]; extra: ExtraFields } {
  const unknown = Object.keys(record).filter((key) => !ACCOUNT_FIELDS.includes(key));
  const unknownFields = unknown.slice(0, MAX_UNKNOWN_FIELDS).map(printableFieldName);
  return { unknownFields, extra: extraFieldsOf(record, unknown) };
}

function extraFieldsOf(record: Record<string, unknown>, unknown: readonly string[]): ExtraFields {
  const kept: [string, unknown][] = [];
  const cut: string[] = [];
  unknown.forEach((name, index) => {
    const json = jsonOf(record[name]);
    const keepable =
      json !== undefined &&
      index < MAX_UNKNOWN_FIELDS &&
      !RESERVED_FIELDS.has(name) &&
      json.length <= MAX_EXTRA_VALUE_LENGTH &&
      textProblem(name, MAX_UNKNOWN_FIELD_NAME_LENGTH) === undefined &&
      !JSONB_REFUSES.test(json);
    if (keepable) kept.push([name, record[name]]);
    else cut.push(printableFieldName(name));
  });
  return { values: Object.fromEntries(kept), cut };
}

/**
 * A value's JSON text, or undefined for one nested too deep to write (JSON.parse reads deeper than
 * JSON.stringify can write back): such a value is cut, never a failure of its account.
 */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    return undefined;
  }
}

/** In JSON text: a NUL, or an unpaired surrogate (JSON.stringify escapes only those), which jsonb refuses. */
const JSONB_REFUSES = /\\u0000|\\ud[89a-f][0-9a-f]{2}/i;

/** Why a string cannot be stored as it is, or undefined when it can. */
function textProblem(value: string, max: number): string | undefined {
  if (value.includes("\u0000")) return "contains a NUL character (U+0000), which cannot be stored";
  if (/\p{Cs}/u.test(value)) return "is not valid Unicode (it holds an unpaired surrogate)";
  // Code points: never more than UTF-16 units, so only a long string needs counting.
  if (value.length > max) {
    let length = 0;
    for (const _ of value) length += 1;
    if (length > max) return `is ${length} characters long: at most ${max} are accepted`;
  }
  return undefined;
}

/**
 * Where JSON.parse gave up, without quoting the body (V8's messages quote it). A body that stops in
 * the middle of a value was cut short on the way, which is worth saying.
 */
function syntaxProblem(json: string, error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  const position = Number(/at position (\d+)/.exec(message)?.[1] ?? Number.NaN);
  if (json.trim() === "") return "it is empty";
  if (/Unexpected end of JSON input|Unterminated string/.test(message) || position >= json.length) {
    return `it stops in the middle of a value after ${json.length} characters (truncated?)`;
  }
  return Number.isNaN(position) ? "a syntax error" : `a syntax error at character ${position + 1}`;
}

function describeIssue(issue: z.core.$ZodIssue, record: Record<string, unknown>): string {
  const key = issue.path[0];
  if (typeof key !== "string") return issue.message;
  if (!Object.hasOwn(record, key)) return `field "${key}" is missing`;
  if (issue.code === "invalid_type") {
    const acceptsNull = accountSchema.shape[key as keyof PlugchatAccount].safeParse(null).success;
    return `field "${key}" must be ${issue.expected}${acceptsNull ? " or null" : ""}, got ${typeName(record[key])}`;
  }
  if (issue.code === "custom") return `field "${key}" ${issue.message}`;
  return `field "${key}": ${issue.message}`;
}

/**
 * An unknown field's name as it may be stored and logged: names come from the server, so one that is
 * long or holds control characters or an unpaired surrogate is JSON-escaped and shortened.
 */
function printableFieldName(name: string): string {
  if (name.length <= MAX_UNKNOWN_FIELD_NAME_LENGTH && /^[\p{L}\p{N}\p{M}_$.-]+$/u.test(name)) return name;
  // JSON.stringify escapes control characters and unpaired surrogates.
  return truncate(JSON.stringify(name), MAX_UNKNOWN_FIELD_NAME_LENGTH);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
