/** `text` cut to at most `maxLength` characters, ending in "…" when it was cut. */
export function truncate(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, Math.max(0, maxLength - 1))}…` : text;
}

/** `text` as a JSON string, cut first: how a value a user gave is quoted back in a message. */
export function quoted(text: string, maxLength = 80): string {
  return JSON.stringify(truncate(text, maxLength));
}
