const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Reads a duration such as `90s`, `30m`, `12h`, `7d` or `2w`, in milliseconds; undefined otherwise. */
export function parseDuration(value: string): number | undefined {
  const relative = /^(\d{1,6})([smhdw])$/.exec(value.trim());
  if (!relative) return undefined;
  const [, amount, unit] = relative;
  return Number(amount) * (UNIT_MS[unit ?? ""] ?? 0);
}

/**
 * Reads a `--since` value: a relative window (`90m`, `12h`, `7d`, `2w`) or an ISO 8601 date/time.
 * Returns the start of the window, or undefined when the value is neither.
 */
export function parseSince(value: string, now: Date = new Date()): Date | undefined {
  const window = parseDuration(value);
  if (window !== undefined) return new Date(now.getTime() - window);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return undefined;
  const absolute = new Date(value.trim());
  return Number.isNaN(absolute.getTime()) ? undefined : absolute;
}
