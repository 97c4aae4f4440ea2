/** `text` cut to at most `maxLength` characters, ending in "…" when it was cut. */
export function truncate(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let end = Math.max(0, maxLength - 1);
  // Never between the two halves of a character such as an emoji: half of one is not Unicode, and
  // PostgreSQL would store it changed.
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** `text` as a JSON string, cut first: how a value a user gave is quoted back in a message. */
export function quoted(text: string, maxLength = 80): string {
  return JSON.stringify(truncate(text, maxLength));
}
