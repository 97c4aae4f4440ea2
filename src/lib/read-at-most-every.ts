/**
 * `read`, called at most once per `periodMs`: calls within the period (while the read is in flight
 * too) share its outcome, a failure included, so that many callers, or a failing source, never make
 * more than one read per period. For figures that many clients poll (a Prometheus scrape per replica).
 */
export function readAtMostEvery<T>(
  periodMs: number,
  read: () => Promise<T>,
  clock: () => number = Date.now,
): () => Promise<T> {
  let last: { at: number; outcome: Promise<T> } | undefined;
  return () => {
    const now = clock();
    if (last === undefined || now - last.at >= periodMs) {
      const outcome = Promise.resolve().then(read);
      // A failure is shared with whoever asks within the period; none of them may be there yet.
      outcome.catch(() => undefined);
      last = { at: now, outcome };
    }
    return last.outcome;
  };
}
