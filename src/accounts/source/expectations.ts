// What the integrator's records expect of each account, read from the columns after the id in the
// account source's rows (or an imported CSV's): pure, so that every naming and value rule is testable
// without a database. The SQL that stores them and compares them with Plugchat's is in db/sql/.
import { hash } from "node:crypto";
import { quoted } from "../../lib/text.js";
import { EXISTS_FIELD, SYNCED_FIELDS } from "../../sync/drift.js";
import { AccountSourceError } from "./errors.js";

export type ExpectedField = (typeof SYNCED_FIELDS)[number];

/** A column after the id that names no synced field: the source's configuration is wrong. */
export class ExpectationColumnError extends AccountSourceError {
  constructor(message: string) {
    super("columns", message);
  }
}

/** `externalId`, `external_id` and `EXTERNAL_ID` are one name. */
function normalized(name: string): string {
  return name.toLowerCase().replace(/_/g, "");
}

const FIELD_BY_NAME = new Map<string, ExpectedField>(
  SYNCED_FIELDS.map((field) => [normalized(field), field]),
);

/** The synced field a column name names (`external_id`, `Active`...), or undefined. */
export function fieldNamed(name: string): ExpectedField | undefined {
  return FIELD_BY_NAME.get(normalized(name.trim()));
}

/** The accepted column names, as a message lists them. */
const ACCEPTED_NAMES = SYNCED_FIELDS.map(
  (field) => `${field} (${field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)})`,
).join(", ");

/**
 * The field each column after the first expects, in column order. Throws an ExpectationColumnError,
 * in one line naming the column and the accepted names, for a column that names no field or a field
 * named twice. `where` says whose columns they are (`ACCOUNT_SOURCE_QUERY`, a file).
 */
export function expectedFieldsOf(columns: readonly string[], where: string): ExpectedField[] {
  const fields: ExpectedField[] = [];
  for (const column of columns.slice(1)) {
    const field = fieldNamed(column);
    if (field === undefined) {
      throw new ExpectationColumnError(
        `${where} has a column ${quoted(column, 41)} that names no synced field: after the account id, each column must be named after the field it expects, one of ${ACCEPTED_NAMES} (case does not matter); rename it with AS, or leave it out`,
      );
    }
    if (fields.includes(field)) {
      throw new ExpectationColumnError(`${where} has two columns for the field ${field}: keep one of them`);
    }
    fields.push(field);
  }
  return fields;
}

/** As `fieldNamed`, `exists` included: the fields a mismatch can be on. */
export function mismatchFieldNamed(name: string): ExpectedField | typeof EXISTS_FIELD | undefined {
  return normalized(name.trim()) === EXISTS_FIELD ? EXISTS_FIELD : fieldNamed(name);
}

/** The names `mismatchFieldNamed` accepts, for messages. */
export const FIELD_NAMES = `${ACCEPTED_NAMES}, ${EXISTS_FIELD}`;

/** One expected value, as text the way account_drift writes values, or why it cannot be one. */
export type ExpectedValue = { ok: true; value: string | null } | { ok: false; reason: string };

/**
 * The expected value of `field` from one cell as the driver gives it (or a CSV's text). A SQL NULL
 * expects Plugchat's null; `''` expects the empty string. `active` takes booleans, 0/1 (MySQL's
 * TINYINT(1), BIT(1)) and the words true/false; other fields take text (numbers as written).
 */
export function expectedValueOf(field: ExpectedField, cell: unknown): ExpectedValue {
  if (cell === null || cell === undefined) return { ok: true, value: null };
  if (field === "active") return expectedBoolean(cell);
  if (typeof cell === "string") return { ok: true, value: cell };
  if (typeof cell === "number" || typeof cell === "bigint") return { ok: true, value: String(cell) };
  if (Buffer.isBuffer(cell)) return { ok: true, value: cell.toString("utf8") };
  return { ok: false, reason: "not text" };
}

function expectedBoolean(cell: unknown): ExpectedValue {
  if (typeof cell === "boolean") return { ok: true, value: String(cell) };
  // BIT(1) comes as one byte.
  const raw = Buffer.isBuffer(cell) && cell.length === 1 ? cell[0] : cell;
  const text = String(raw).trim().toLowerCase();
  if (["1", "true", "t"].includes(text)) return { ok: true, value: "true" };
  if (["0", "false", "f"].includes(text)) return { ok: true, value: "false" };
  return { ok: false, reason: "not a boolean (true, false, 1 or 0)" };
}

/**
 * The expectations of one account: each field's expected value, `exists` first (the source lists the
 * account, so it is expected to exist) and then the valid cells in column order.
 */
export interface AccountExpectations {
  accountId: string;
  expected: Partial<Record<ExpectedField | typeof EXISTS_FIELD, string | null>>;
}

/** Invalid expected values named in messages; the rest are only counted. */
export const MAX_INVALID_EXPECTED_NAMED = 5;

/**
 * The expectations of one row whose id is valid, and the description of each invalid cell
 * (`acc-1 active "maybe": not a boolean ...`). An invalid cell sets no expectation for its field.
 */
export function expectationsOfRow(
  accountId: string,
  fields: readonly ExpectedField[],
  cells: readonly unknown[],
): { expectations: AccountExpectations; invalid: string[] } {
  const expectations: AccountExpectations = { accountId, expected: { [EXISTS_FIELD]: "true" } };
  const invalid: string[] = [];
  fields.forEach((field, index) => {
    const cell = cells[index + 1];
    const expected = expectedValueOf(field, cell);
    if (expected.ok) expectations.expected[field] = expected.value;
    else {
      invalid.push(`${accountId} ${field} ${quoted(String(cell), 41)}: ${expected.reason}`);
    }
  });
  return { expectations, invalid };
}

/**
 * The digest of an account's expected values as loaded (their JSON text), hashed with its id: the same
 * values of the same account in the same column order give the same digest, so a run sends PostgreSQL
 * only the accounts whose digest is not stored. (Columns reordered give other digests: one run compares
 * every account again.) With the id inside, a digest names its account: the run holds the stored ones
 * as a sorted set of their first 8 bytes (stored-digests.ts), not as a map of ids.
 */
export function expectationsDigest(accountId: string, values: string): Buffer {
  return hash("sha256", `${accountId}\n${values}`, "buffer");
}
