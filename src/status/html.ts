// Escaping for the status page. Every value that reaches the page goes through `text` (element
// content and attribute values alike): account names and webhook URLs are hostile input.
import { quoted } from "../lib/text.js";

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** A value as HTML/SVG text, safe in element content and in quoted attribute values. */
export function text(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  return String(value).replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

/** Characters of an untrusted value shown in a table cell; the whole value is in its tooltip and /api/... */
export const SHOWN_CHARACTERS = 160;

/**
 * A value the page does not control (a name, an error, a URL) as HTML: escaped and bidi-isolated, so
 * that right-to-left marks in it cannot reorder the text around it. A long one (a 2,000-character
 * webhook URL) is cut for the table, with its length said and the whole value in the title.
 */
export function untrusted(value: string | null | undefined): string {
  if (value === null || value === undefined) return '<span class="none">-</span>';
  const characters = Array.from(value);
  if (characters.length <= SHOWN_CHARACTERS) return `<bdi>${text(value)}</bdi>`;
  const shown = characters.slice(0, SHOWN_CHARACTERS).join("");
  return `<bdi title="${text(value)}">${text(shown)}…</bdi> <span class="none">(${characters.length} characters)</span>`;
}

/**
 * An expected or actual value as the `mismatches` command shows it: JSON text, so that null, "" and
 * spaces are told apart, with control and bidi characters as escapes; cut like `untrusted`, with the
 * whole value in the tooltip (and in /api/mismatches).
 */
export function jsonValue(value: string | null): string {
  if (value === null) return '<code class="none">null</code>';
  if (value.length <= SHOWN_CHARACTERS)
    return `<code><bdi>${text(quoted(value, SHOWN_CHARACTERS))}</bdi></code>`;
  const shown = quoted(value, SHOWN_CHARACTERS);
  return `<code><bdi title="${text(value)}">${text(shown)}</bdi></code> <span class="none">(${Array.from(value).length} characters)</span>`;
}
