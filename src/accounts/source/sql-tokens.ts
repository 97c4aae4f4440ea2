// Splits SQL text into the tokens that tell what a statement does (words, quoted names, strings,
// punctuation), dropping whitespace and comments, the way PostgreSQL or MySQL/MariaDB would. Pure.
// Where the lexer could be wrong it errs towards seeing more code, never less: a line comment ends
// at the first \r or \n, Unicode spaces split words, and a text a server may read in several ways
// (backslashes in strings, which depend on its settings) is tokenized once per reading by the caller.

export type SqlDialect = "postgres" | "mysql";

export interface SqlToken {
  kind: "word" | "quoted" | "string" | "punct";
  /** A word as written, a quoted name without its quotes, one punctuation character; "" for a string. */
  text: string;
  /** Where it starts and ends in the text, to tell `E'…'` from `E '…'`. */
  start: number;
  end: number;
}

/** Whether a backslash escapes the next character, which the server's settings decide. */
export interface StringReading {
  /** In '…': MySQL without NO_BACKSLASH_ESCAPES; PostgreSQL with standard_conforming_strings off. */
  singleQuotes: boolean;
  /** In "…" (MySQL only, where "…" is a string unless ANSI_QUOTES). */
  doubleQuotes: boolean;
}

export type Tokenized = { tokens: SqlToken[] } | { refusal: string };

const UNTERMINATED = "it has an unterminated string, quoted name or comment";

/** The tokens of `sql`, or why it cannot be read safely. */
export function tokenize(sql: string, dialect: SqlDialect, reading: StringReading): Tokenized {
  const tokens: SqlToken[] = [];
  let at = 0;
  while (at < sql.length) {
    const next = readToken(sql, at, dialect, reading, tokens);
    if (typeof next === "string") return { refusal: next };
    at = next;
  }
  return { tokens };
}

/** Reads what starts at `at`, pushing its token if it is one: the index after it, or a refusal. */
function readToken(
  sql: string,
  at: number,
  dialect: SqlDialect,
  reading: StringReading,
  tokens: SqlToken[],
): number | string {
  const char = sql.charAt(at);
  if (/\s/.test(char)) return at + 1;
  if (sql.startsWith("--", at) && (dialect === "postgres" || mysqlCommentSpace(sql.charAt(at + 2))))
    return lineEnd(sql, at);
  if (char === "#" && dialect === "mysql") return lineEnd(sql, at);
  if (sql.startsWith("/*", at)) return blockCommentEnd(sql, at, dialect);
  const push = (kind: SqlToken["kind"], end: number, text = "") => {
    tokens.push({ kind, text, start: at, end });
    return end;
  };
  if (char === "'") {
    const previous = tokens.at(-1);
    // PostgreSQL's E'…' always escapes with a backslash, whatever standard_conforming_strings says.
    const escapeString =
      dialect === "postgres" &&
      previous?.kind === "word" &&
      /^e$/i.test(previous.text) &&
      previous.end === at;
    const end = quotedEnd(sql, at, "'", escapeString || reading.singleQuotes);
    return end === undefined ? UNTERMINATED : push("string", end);
  }
  if (char === '"' || (char === "`" && dialect === "mysql")) {
    const end = quotedEnd(sql, at, char, char === '"' && dialect === "mysql" && reading.doubleQuotes);
    if (end === undefined) return UNTERMINATED;
    return push("quoted", end, sql.slice(at + 1, end - 1).replaceAll(char + char, char));
  }
  if (char === "$" && dialect === "postgres") {
    const dollar = dollarQuotedEnd(sql, at);
    if (dollar === null) return UNTERMINATED;
    if (dollar !== undefined) return push("string", dollar);
  }
  // A number ends where its digits do: `1into` is 1 and INTO to PostgreSQL 14 and older.
  const word =
    matchAt(NUMBER, sql, at) ?? matchAt(dialect === "postgres" ? POSTGRES_WORD : MYSQL_WORD, sql, at);
  if (word !== undefined) return push("word", at + word.length, word);
  return push("punct", at + char.length, char);
}

const NUMBER = /\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?/y;
const POSTGRES_WORD = /[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_$\u0080-\uFFFF]*/y;
const MYSQL_WORD = /[A-Za-z0-9_$\u0080-\uFFFF]+/y;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;

/** What the sticky `pattern` matches at `at`, if anything. */
function matchAt(pattern: RegExp, sql: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(sql)?.[0];
}

/** MySQL reads `--` as a comment only when a space or control character follows (`1--1` is 1 - -1). */
function mysqlCommentSpace(next: string): boolean {
  return next === "" || next.charCodeAt(0) <= 32;
}

function lineEnd(sql: string, at: number): number {
  const ends = [sql.indexOf("\n", at), sql.indexOf("\r", at)].filter((index) => index !== -1);
  return ends.length === 0 ? sql.length : Math.min(...ends);
}

/**
 * The end of a block comment. PostgreSQL nests them, MySQL does not. MySQL's executable comments
 * (`/*! … *\/`, MariaDB's `/*M! … *\/`) are run as code and its optimizer hints (`/*+ … *\/`) can
 * lift the statement timeout: both are refused rather than read.
 */
function blockCommentEnd(sql: string, at: number, dialect: SqlDialect): number | string {
  if (dialect === "mysql" && /^\/\*(!|m!)/i.test(sql.slice(at, at + 4)))
    return "it has a MySQL executable comment (/*! … */), which the server runs as code";
  if (dialect === "mysql" && sql.startsWith("/*+", at))
    return "it has an optimizer hint (/*+ … */), which can lift the statement timeout";
  let depth = 0;
  let index = at;
  while (index < sql.length) {
    if (sql.startsWith("/*", index) && (depth === 0 || dialect === "postgres")) {
      depth += 1;
      index += 2;
    } else if (sql.startsWith("*/", index)) {
      depth -= 1;
      index += 2;
      if (depth === 0) return index;
    } else {
      index += 1;
    }
  }
  return UNTERMINATED;
}

/** The index after the closing quote (a doubled quote is one character), or undefined when none. */
function quotedEnd(sql: string, at: number, quote: string, backslash: boolean): number | undefined {
  let index = at + 1;
  while (index < sql.length) {
    const char = sql.charAt(index);
    if (backslash && char === "\\") {
      index += 2;
    } else if (char === quote) {
      if (sql.charAt(index + 1) !== quote) return index + 1;
      index += 2;
    } else {
      index += 1;
    }
  }
  return undefined;
}

/**
 * PostgreSQL's `$tag$ … $tag$`: the index after it; undefined when the `$` starts none (`$1`); null
 * when it is not closed.
 */
function dollarQuotedEnd(sql: string, at: number): number | null | undefined {
  const open = matchAt(DOLLAR_TAG, sql, at);
  if (open === undefined) return undefined;
  const close = sql.indexOf(open, at + open.length);
  return close === -1 ? null : close + open.length;
}
