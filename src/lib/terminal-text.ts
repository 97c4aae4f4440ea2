// Text that reaches a terminal comes from elsewhere too: Plugchat's account names and webhooks (whoever
// can rename an account writes them), an integrator's database, error messages. A terminal obeys the
// control characters in it (colours, clearing the screen, a new window title, text reversed by a bidi
// override), so they are shown as escapes instead: the operator sees what is there, and nothing acts.

/**
 * What a terminal may act on: C0 but newline and tab, DEL, C1, and the bidi controls (embeddings and
 * overrides U+202A–U+202E, isolates U+2066–U+2069, the marks LRM, RLM and ALM).
 */
const CONTROLS = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";

// With the `u` flag a surrogate pair is one character (emoji stay whole), and \p{Cs} matches only an
// unpaired half, which is not Unicode and would be written as U+FFFD.
const IN_TEXT = new RegExp(`[${CONTROLS}]|\\p{Cs}`, "gu");
const IN_LINE = new RegExp(`[\\t\\n${CONTROLS}]|\\p{Cs}`, "gu");
/** In JSON text, where C0 and unpaired surrogates are escaped already and `\uXXXX` keeps the value. */
const IN_JSON = new RegExp(`[${CONTROLS}]`, "g");

const SHORT: Readonly<Record<string, string>> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escaped(char: string): string {
  const code = char.charCodeAt(0);
  return SHORT[char] ?? (code < 0x80 ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`);
}

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, "0");
}

/**
 * `text` for a terminal, every control character shown as an escape (`\x1b`, `\r`, `\u009b`,
 * `\u202e`) but newlines and tabs, which lay out text of several lines. Text without them is returned
 * as it is, and escaping twice changes nothing.
 */
export function showControls(text: string): string {
  return text.replace(IN_TEXT, escaped);
}

/** As `showControls`, newlines and tabs shown too (`\n`, `\t`): for a table cell or a one-line value. */
export function showControlsInLine(text: string): string {
  return text.replace(IN_LINE, escaped);
}

/**
 * `value` as JSON, with the characters a terminal acts on that JSON.stringify leaves as they are (DEL,
 * C1, bidi controls) escaped as `\uXXXX`: the same JSON value, safe to print. JSON.stringify already
 * escapes C0 and unpaired surrogates.
 */
export function terminalJson(value: object | string | null, indent?: number): string {
  return escapedJson(JSON.stringify(value, null, indent));
}

/**
 * JSON text with DEL, C1 and the bidi controls escaped as `\uXXXX`: still the same value, since in
 * JSON text such characters can only stand inside a string, where the escape means the same.
 */
export function escapedJson(json: string): string {
  return json.replace(IN_JSON, (char) => `\\u${hex(char.charCodeAt(0), 4)}`);
}
