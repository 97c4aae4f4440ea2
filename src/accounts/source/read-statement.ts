// Whether ACCOUNT_SOURCE_QUERY is one statement that only reads, decided from its text before it
// reaches the database: in MySQL and MariaDB a DDL statement commits the read-only transaction
// before it runs, so the transaction alone cannot be trusted with it. Pure, and conservative: a
// single SELECT, WITH … SELECT, TABLE or VALUES (in parentheses or not, with one trailing ";") is
// accepted; anything else, or anything it cannot read for sure, is refused.
import { truncate } from "../../lib/text.js";
import { type SqlDialect, type SqlToken, type StringReading, tokenize } from "./sql-tokens.js";

/** Why `sql` is not a single statement that only reads, in a few words; undefined when it is one. */
export function readStatementRefusal(sql: string, dialect: SqlDialect): string | undefined {
  // Without a backslash every reading is the same; with one, the text must pass them all.
  const readings = sql.includes("\\") ? READINGS : READINGS.slice(0, 1);
  for (const reading of readings) {
    const tokenized = tokenize(sql, dialect, reading);
    const refusal = "refusal" in tokenized ? tokenized.refusal : statementRefusal(tokenized.tokens, dialect);
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}

const READINGS: readonly StringReading[] = [
  { singleQuotes: false, doubleQuotes: false },
  { singleQuotes: true, doubleQuotes: true },
  { singleQuotes: true, doubleQuotes: false },
  { singleQuotes: false, doubleQuotes: true },
];

/** The words a read statement may start with, after its opening parentheses. */
const READ_STARTS = new Set(["select", "with", "table", "values"]);

/** Words that make a read statement write: a data-modifying CTE, SELECT … INTO (a table, a file, variables). */
const WRITING_WORDS = new Set(["insert", "update", "delete", "merge", "into"]);

/**
 * Functions that write where the read-only transaction cannot see: over a connection of their own
 * (dblink), to the server's files (lo_export, adminpack's pg_file_write), to the server's state, or
 * by running SQL given as text (query_to_xml, ts_stat, crosstab and pg_background run it; pg_cron's
 * schedule later). A best effort: a user's own function can do the same, which only a read-only
 * user prevents.
 */
const WRITING_FUNCTIONS = new Set([
  "lowrite",
  "pg_write_file",
  "set_config",
  "ts_stat",
  "ts_rewrite",
  "connectby",
  "schedule",
  "schedule_in_database",
  "pg_terminate_backend",
  "pg_cancel_backend",
  "pg_reload_conf",
  "pg_rotate_logfile",
  "pg_switch_wal",
  "pg_promote",
  "pg_logical_emit_message",
  "pg_import_system_collations",
  "sys_exec",
  "sys_eval",
]);
const WRITING_FUNCTION_PREFIXES = [
  "dblink",
  "lo_",
  "pg_file_",
  "pg_background",
  "query_to_xml",
  "cursor_to_xml",
  "crosstab",
  "pg_create_",
  "pg_drop_",
  "pg_replication_origin",
  "pg_stat_reset",
];

function statementRefusal(tokens: readonly SqlToken[], dialect: SqlDialect): string | undefined {
  const semicolon = tokens.findIndex((token) => isPunct(token, ";"));
  const statement = semicolon === -1 ? tokens : tokens.slice(0, semicolon);
  const first = statement.find((token) => !isPunct(token, "("));
  if (first === undefined) return "it is empty";
  if (first.kind !== "word" || !READ_STARTS.has(first.text.toLowerCase()))
    return `it starts with ${describe(first)}`;
  if (semicolon !== -1 && semicolon < tokens.length - 1) return "it is more than one statement";
  for (let index = 0; index < statement.length; index += 1) {
    const refusal = tokenRefusal(statement, index, dialect);
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}

/** Why the token at `index` makes the statement more than a read, if it does. */
function tokenRefusal(tokens: readonly SqlToken[], index: number, dialect: SqlDialect): string | undefined {
  const token = tokens[index] as SqlToken;
  const next = tokens[index + 1];
  const word = token.kind === "word" ? token.text.toLowerCase() : undefined;
  const nextWord = next?.kind === "word" ? next.text.toLowerCase() : undefined;
  if (word === "for" && nextWord !== undefined && ["update", "share", "no", "key"].includes(nextWord))
    return `it locks rows (FOR ${nextWord.toUpperCase()} …)`;
  if (word === "lock" && nextWord === "in") return "it locks rows (LOCK IN SHARE MODE)";
  if (word === "into") return "it writes its result somewhere (INTO)";
  // MySQL's INSERT(text, position, length, new) is a string function, never a statement.
  const stringFunction = word === "insert" && dialect === "mysql" && next !== undefined && isPunct(next, "(");
  if (word !== undefined && WRITING_WORDS.has(word) && !stringFunction)
    return `it contains ${word.toUpperCase()}`;
  if (dialect === "postgres" && token.kind === "quoted" && isUnicodeName(tokens, index))
    return 'it has a U&"…" name, whose escapes could hide what it names';
  if ((token.kind === "word" || token.kind === "quoted") && next !== undefined && isPunct(next, "(")) {
    const name = token.text.toLowerCase();
    if (WRITING_FUNCTIONS.has(name) || WRITING_FUNCTION_PREFIXES.some((prefix) => name.startsWith(prefix)))
      return `it calls ${truncate(token.text, 40)}(), which can write outside the read-only transaction`;
  }
  return undefined;
}

/** PostgreSQL's `U&"d\0062link_exec"`: a quoted name right after `U&`. */
function isUnicodeName(tokens: readonly SqlToken[], index: number): boolean {
  const ampersand = tokens[index - 1];
  const u = tokens[index - 2];
  return (
    ampersand !== undefined &&
    u !== undefined &&
    isPunct(ampersand, "&") &&
    ampersand.end === (tokens[index] as SqlToken).start &&
    u.kind === "word" &&
    /^u$/i.test(u.text) &&
    u.end === ampersand.start
  );
}

function isPunct(token: SqlToken, text: string): boolean {
  return token.kind === "punct" && token.text === text;
}

function describe(token: SqlToken): string {
  if (token.kind === "word") return truncate(token.text.toUpperCase(), 40);
  if (token.kind === "quoted") return `the name ${JSON.stringify(truncate(token.text, 40))}`;
  if (token.kind === "string") return "a string";
  return JSON.stringify(token.text);
}
