// Turns the lines of an id file into account ids, and a CSV's columns named after synced fields into
// the values each account is expected to have. Pure: it reads an async iterable of lines and knows
// nothing about files, stdin or the database, so every format rule is testable with plain arrays.
import { UserFacingError } from "../errors.js";
import { quoted } from "../lib/text.js";
import { isValidAccountId } from "../plugchat/account-id.js";
import { type ExpectedField, expectedValueOf, fieldNamed } from "./source/expectations.js";

/** Header names that mark the column of account ids, lower-cased; the first one found wins. */
const ID_COLUMN_NAMES = ["accountid", "account_id", "id"] as const;

type IdFileFormat = "lines" | "csv";

/**
 * A line whose id, or one of whose expected values, was rejected; `line` is 1-based and counts every
 * physical line of the file.
 */
export interface InvalidIdLine {
  line: number;
  /** The value as read (an id trimmed); empty when the CSV record had nothing in the id column. */
  value: string;
  /** One human sentence, starting with "line N: ". */
  message: string;
}

export interface ParsedIdFile {
  format: IdFileFormat;
  /** Valid ids, each once, in the order first seen. */
  ids: string[];
  /** Valid ids seen again after their first line. */
  duplicates: number;
  /** The first `maxInvalidKept` rejected ids and expected values, in file order. */
  invalid: InvalidIdLine[];
  /** Every rejected id (its line skipped), kept or not. */
  invalidCount: number;
  /** Every rejected expected value (its id kept, the value skipped), kept or not. */
  invalidValueCount: number;
  /** The fields a CSV's columns expect, in column order; none for one id per line. */
  expectedFields: ExpectedField[];
  /**
   * The cells of those columns for each id of `ids`, from its first line, `expectedFields.length` per
   * id, flat (one array for the whole file): text as read, null for an empty unquoted cell. Invalid
   * ones are kept here as read; the rules that store them (expectationsOfRow) skip them again.
   */
  expectedCells: (string | null)[];
}

interface ParseIdFileOptions {
  /** How many rejected lines to keep for reporting; the rest are only counted. Default 100. */
  maxInvalidKept?: number;
}

/** The file cannot be read as ids at all (e.g. a CSV header without an id column). */
export class IdFileFormatError extends UserFacingError {}

/**
 * Reads one id per line, or a CSV whose header has an `accountId` (or `account_id`, or `id`) column,
 * names matched case-insensitively. The first line that is neither blank nor a `#` comment decides:
 * it is a CSV header when it holds a comma or is exactly one of those names. Blank lines and comments
 * are skipped in both formats, ids are trimmed, and an id repeated in the file is kept once (its
 * first line wins). A CSV's columns named after a synced field (`externalId` or `external_id`,
 * `active`...: see expectations.ts) hold expected values; its other columns are ignored.
 */
export async function parseIdFile(
  lines: AsyncIterable<string>,
  options: ParseIdFileOptions = {},
): Promise<ParsedIdFile> {
  const ids = new IdCollector(options.maxInvalidKept ?? 100);
  let header: CsvHeader | undefined;
  let decided = false;
  // A quoted CSV field may hold line breaks; such a record spans several lines and is reported at
  // the line where it starts.
  let pending: { text: string; line: number } | undefined;
  let lineNumber = 0;

  for await (const raw of lines) {
    lineNumber += 1;
    // Spreadsheets often save CSV with a byte order mark, which would otherwise hide the header name.
    const text = lineNumber === 1 ? raw.replace(/^\uFEFF/, "") : raw;

    if (pending && header) {
      const joined = `${pending.text}\n${text}`;
      const record = splitCsvRecord(joined);
      if (record.unterminated) {
        pending = { text: joined, line: pending.line };
      } else {
        ids.acceptRecord(pending.line, record, header);
        pending = undefined;
      }
      continue;
    }

    const trimmed = text.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;

    if (!decided) {
      decided = true;
      header = readCsvHeader(trimmed, lineNumber);
      if (header) {
        ids.result.format = "csv";
        ids.result.expectedFields = header.expected.map((column) => column.field);
        continue;
      }
    }

    if (!header) {
      ids.accept(lineNumber, trimmed);
      continue;
    }
    const record = splitCsvRecord(text);
    if (record.unterminated) pending = { text, line: lineNumber };
    else ids.acceptRecord(lineNumber, record, header);
  }

  if (pending)
    ids.reject(pending.line, pending.text.trim(), 'a quoted CSV value is never closed (a missing `"`?)');
  return ids.result;
}

interface CsvColumn {
  index: number;
  /** As the header writes it, for messages. */
  name: string;
}

interface CsvHeader {
  id: CsvColumn;
  /** The columns named after a synced field, in column order. */
  expected: (CsvColumn & { field: ExpectedField })[];
}

/** The ids, expected values and rejected lines of a file, as its lines are read. */
class IdCollector {
  readonly result: ParsedIdFile = {
    format: "lines",
    ids: [],
    duplicates: 0,
    invalid: [],
    invalidCount: 0,
    invalidValueCount: 0,
    expectedFields: [],
    expectedCells: [],
  };
  private readonly seen = new Set<string>();

  constructor(private readonly maxInvalidKept: number) {}

  reject(line: number, value: string, message: string): void {
    this.result.invalidCount += 1;
    this.keep(line, value, message);
  }

  private keep(line: number, value: string, message: string): void {
    if (this.result.invalid.length < this.maxInvalidKept)
      this.result.invalid.push({ line, value, message: `line ${line}: ${message}` });
  }

  accept(line: number, value: string): "new" | "duplicate" | "invalid" {
    if (!isValidAccountId(value)) {
      this.reject(line, value, `${quoted(value)} is not a valid account id`);
      return "invalid";
    }
    if (this.seen.has(value)) {
      this.result.duplicates += 1;
      return "duplicate";
    }
    this.seen.add(value);
    this.result.ids.push(value);
    return "new";
  }

  acceptRecord(line: number, record: CsvRecord, header: CsvHeader): void {
    const value = (record.fields[header.id.index] ?? "").trim();
    if (value === "") {
      this.reject(line, value, `the ${header.id.name} column is empty`);
      return;
    }
    const kind = this.accept(line, value);
    if (kind === "invalid") return;
    // A line repeating an id sets nothing, but a value no field can take is reported wherever it is.
    for (const column of header.expected) {
      const cell = cellOf(record, column.index);
      const expected = expectedValueOf(column.field, cell);
      if (!expected.ok) {
        this.result.invalidValueCount += 1;
        this.keep(line, cell ?? "", `${column.name} ${quoted(cell ?? "", 41)} is ${expected.reason}`);
      }
      if (kind === "new") this.result.expectedCells.push(cell);
    }
  }
}

/**
 * A cell as an expected value: a quoted one as written (`""` expects the empty string), an unquoted
 * one trimmed, and null (expects no value) when it is empty or missing from a short record.
 */
function cellOf(record: CsvRecord, index: number): string | null {
  const text = record.fields[index];
  if (text === undefined) return null;
  if (record.quoted[index]) return text;
  const trimmed = text.trim();
  return trimmed === "" ? null : trimmed;
}

/** The columns of `line` when it is a CSV header, undefined when the file is one id per line. */
function readCsvHeader(line: string, lineNumber: number): CsvHeader | undefined {
  const record = splitCsvRecord(line);
  const names = record.fields.map((field) => field.trim());
  const lower = names.map((name) => name.toLowerCase());
  const isHeader = line.includes(",") || (lower.length === 1 && isIdColumnName(lower[0]));
  if (!isHeader) return undefined;
  const index = ID_COLUMN_NAMES.map((wanted) => lower.indexOf(wanted)).find((found) => found >= 0);
  if (index === undefined) {
    throw new IdFileFormatError(
      `line ${lineNumber}: this looks like a CSV header (${quoted(line)}) but has no accountId or id column: name the column of account ids "accountId", or give one id per line without commas`,
    );
  }
  const expected: CsvHeader["expected"] = [];
  names.forEach((name, column) => {
    const field = column === index ? undefined : fieldNamed(name);
    if (field === undefined) return;
    const twin = expected.find((other) => other.field === field);
    if (twin) {
      throw new IdFileFormatError(
        `line ${lineNumber}: the columns ${quoted(twin.name)} and ${quoted(name)} both give the field ${field}: keep one of them`,
      );
    }
    expected.push({ index: column, name, field });
  });
  return { id: { index, name: names[index] ?? "" }, expected };
}

function isIdColumnName(name: string | undefined): boolean {
  return (ID_COLUMN_NAMES as readonly string[]).includes(name ?? "");
}

interface CsvRecord {
  fields: string[];
  /** For each field, whether it was quoted (`""` is an empty string, an empty unquoted field is not). */
  quoted: boolean[];
  unterminated: boolean;
}

/**
 * Splits one CSV record (RFC 4180: `"` quotes a field, `""` is a quote inside one). Lenient where
 * the RFC is strict, because these files come from spreadsheets and hand edits: spaces around a
 * quoted field are ignored and a stray quote inside an unquoted field is kept as text.
 */
export function splitCsvRecord(text: string): CsvRecord {
  const record: CsvRecord = { fields: [], quoted: [], unterminated: false };
  const { fields } = record;
  let position = 0;
  for (;;) {
    let field = "";
    const start = skipSpaces(text, position);
    if (text[start] === '"') {
      let cursor = start + 1;
      let closed = false;
      while (cursor < text.length) {
        const char = text[cursor];
        if (char === '"') {
          if (text[cursor + 1] === '"') {
            field += '"';
            cursor += 2;
            continue;
          }
          closed = true;
          cursor += 1;
          break;
        }
        field += char;
        cursor += 1;
      }
      if (!closed) return { ...record, unterminated: true };
      // Text between the closing quote and the next comma is kept rather than dropped silently.
      const comma = text.indexOf(",", cursor);
      const rest = text.slice(cursor, comma === -1 ? text.length : comma).trim();
      fields.push(field + rest);
      record.quoted.push(true);
      if (comma === -1) return record;
      position = comma + 1;
    } else {
      const comma = text.indexOf(",", position);
      fields.push(text.slice(position, comma === -1 ? text.length : comma));
      record.quoted.push(false);
      if (comma === -1) return record;
      position = comma + 1;
    }
  }
}

function skipSpaces(text: string, from: number): number {
  let index = from;
  while (text[index] === " " || text[index] === "\t") index += 1;
  return index;
}
