// How long a queue backend waits before its next reconnection attempt (both backends use it).

export const DEFAULT_MAX_RECONNECT_DELAY_MS = 20_000;

/** Reconnection delay after `times` failed attempts: 500 ms doubling, capped, with some jitter. */
export function reconnectDelay(times: number, maxDelayMs = DEFAULT_MAX_RECONNECT_DELAY_MS): number {
  const base = Math.min(500 * 2 ** Math.min(Math.max(times - 1, 0), 16), maxDelayMs);
  return Math.round(base * (0.8 + Math.random() * 0.2));
}
