// Turns the lines of an id file into account ids. Pure: it reads an async iterable of lines and knows
// nothing about files, stdin or the database, so every format rule is testable with plain arrays.
import { UserFacingError } from "../errors.js";
import { quoted } from "../lib/text.js";
import { isValidAccountId } from "../plugchat/account-id.js";

/** Header names that mark the column of account ids, lower-cased; the first one found wins. */
const ID_COLUMN_NAMES = ["accountid", "account_id", "id"] as const;

type IdFileFormat = "lines" | "csv";

/** A line whose id was rejected; `line` is 1-based and counts every physical line of the file. */
export interface InvalidIdLine {
  line: number;
  /** The value as read (trimmed); empty when the CSV record had nothing in the id column. */
  value: string;
  /** One human sentence, starting with "line N: ". */
  message: string;
}

interface ParsedIdFile {
  format: IdFileFormat;
  /** Valid ids, each once, in the order first seen. */
  ids: string[];
  /** Valid ids seen again after their first line. */
  duplicates: number;
  /** The first `maxInvalidKept` rejected lines, in file order. */
  invalid: InvalidIdLine[];
  /** Every rejected line, kept or not. */
  invalidCount: number;
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
 * are skipped in both formats, values are trimmed, and an id repeated in the file is kept once.
 */
export async function parseIdFile(
  lines: AsyncIterable<string>,
  options: ParseIdFileOptions = {},
): Promise<ParsedIdFile> {
  const ids = new IdCollector(options.maxInvalidKept ?? 100);
  let idColumn: IdColumn | undefined;
  let decided = false;
  // A quoted CSV field may hold line breaks; such a record spans several lines and is reported at
  // the line where it starts.
  let pending: { text: string; line: number } | undefined;
  let lineNumber = 0;

  for await (const raw of lines) {
    lineNumber += 1;
    // Spreadsheets often save CSV with a byte order mark, which would otherwise hide the header name.
    const text = lineNumber === 1 ? raw.replace(/^\uFEFF/, "") : raw;

    if (pending && idColumn) {
      const joined = `${pending.text}\n${text}`;
      const record = splitCsvRecord(joined);
      if (record.unterminated) {
        pending = { text: joined, line: pending.line };
      } else {
        ids.acceptRecord(pending.line, record.fields, idColumn);
        pending = undefined;
      }
      continue;
    }

    const trimmed = text.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;

    if (!decided) {
      decided = true;
      idColumn = findIdColumn(trimmed, lineNumber);
      if (idColumn) {
        ids.result.format = "csv";
        continue;
      }
    }

    if (!idColumn) {
      ids.accept(lineNumber, trimmed);
      continue;
    }
    const record = splitCsvRecord(text);
    if (record.unterminated) pending = { text, line: lineNumber };
    else ids.acceptRecord(lineNumber, record.fields, idColumn);
  }

  if (pending)
    ids.reject(pending.line, pending.text.trim(), 'a quoted CSV value is never closed (a missing `"`?)');
  return ids.result;
}

interface IdColumn {
  index: number;
  /** As the header writes it, for messages. */
  name: string;
}

/** The ids and rejected lines of a file, as its lines are read. */
class IdCollector {
  readonly result: ParsedIdFile = { format: "lines", ids: [], duplicates: 0, invalid: [], invalidCount: 0 };
  private readonly seen = new Set<string>();

  constructor(private readonly maxInvalidKept: number) {}

  reject(line: number, value: string, message: string): void {
    this.result.invalidCount += 1;
    if (this.result.invalid.length < this.maxInvalidKept)
      this.result.invalid.push({ line, value, message: `line ${line}: ${message}` });
  }

  accept(line: number, value: string): void {
    if (!isValidAccountId(value)) {
      this.reject(line, value, `${quoted(value)} is not a valid account id`);
    } else if (this.seen.has(value)) {
      this.result.duplicates += 1;
    } else {
      this.seen.add(value);
      this.result.ids.push(value);
    }
  }

  acceptRecord(line: number, fields: string[], column: IdColumn): void {
    const value = (fields[column.index] ?? "").trim();
    if (value === "") this.reject(line, value, `the ${column.name} column is empty`);
    else this.accept(line, value);
  }
}

/** The id column when `line` is a CSV header, undefined when the file is one id per line. */
function findIdColumn(line: string, lineNumber: number): IdColumn | undefined {
  const record = splitCsvRecord(line);
  const names = record.fields.map((field) => field.trim().toLowerCase());
  const isHeader = line.includes(",") || (names.length === 1 && isIdColumnName(names[0]));
  if (!isHeader) return undefined;
  for (const wanted of ID_COLUMN_NAMES) {
    const index = names.indexOf(wanted);
    if (index >= 0) return { index, name: record.fields[index]?.trim() ?? wanted };
  }
  throw new IdFileFormatError(
    `line ${lineNumber}: this looks like a CSV header (${quoted(line)}) but has no accountId or id column: name the column of account ids "accountId", or give one id per line without commas`,
  );
}

function isIdColumnName(name: string | undefined): boolean {
  return (ID_COLUMN_NAMES as readonly string[]).includes(name ?? "");
}

/**
 * Splits one CSV record (RFC 4180: `"` quotes a field, `""` is a quote inside one). Lenient where
 * the RFC is strict, because these files come from spreadsheets and hand edits: spaces around a
 * quoted field are ignored and a stray quote inside an unquoted field is kept as text.
 */
export function splitCsvRecord(text: string): { fields: string[]; unterminated: boolean } {
  const fields: string[] = [];
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
      if (!closed) return { fields, unterminated: true };
      // Text between the closing quote and the next comma is kept rather than dropped silently.
      const comma = text.indexOf(",", cursor);
      const rest = text.slice(cursor, comma === -1 ? text.length : comma).trim();
      fields.push(field + rest);
      if (comma === -1) return { fields, unterminated: false };
      position = comma + 1;
    } else {
      const comma = text.indexOf(",", position);
      fields.push(text.slice(position, comma === -1 ? text.length : comma));
      if (comma === -1) return { fields, unterminated: false };
      position = comma + 1;
    }
  }
}

function skipSpaces(text: string, from: number): number {
  let index = from;
  while (text[index] === " " || text[index] === "\t") index += 1;
  return index;
}
