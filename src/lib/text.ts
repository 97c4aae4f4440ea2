import { terminalJson } from "./terminal-text.js";

/** `text` cut to at most `maxLength` characters, ending in "…" when it was cut. */
export function truncate(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let end = Math.max(0, maxLength - 1);
  // Never between the two halves of a character such as an emoji: half of one is not Unicode, and
  // PostgreSQL would store it changed.
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * `text` as a JSON string, cut first: how a value a user gave is quoted back in a message. Control
 * characters are escaped (`\u001b`, `\u009b`, `\u202e`), so the message is safe to print.
 */
export function quoted(text: string, maxLength = 80): string {
  return terminalJson(truncate(text, maxLength));
}

/** Error messages (Prisma's span several lines) as one line, for a run's `error` and log lines. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
