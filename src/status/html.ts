// Escaping for the status page. Every value that reaches the page goes through `text` (element
// content and attribute values alike): account names and webhook URLs are hostile input.

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

/**
 * A value the page does not control (a name, an error, a URL) as HTML: escaped and bidi-isolated, so
 * that right-to-left marks in it cannot reorder the text around it.
 */
export function untrusted(value: string | null | undefined): string {
  if (value === null || value === undefined) return '<span class="none">-</span>';
  return `<bdi>${text(value)}</bdi>`;
}
