// How a run cuts its accounts into batches. Full batches, then a tail that halves: the batch fetched
// last is written after the run's last answer, with no request left to overlap its write, so it is
// kept small (docs/benchmarks.md, "The run's last batches").

/** The smallest batch the tail is cut down to: below it a transaction costs more than it saves. */
export const SMALLEST_TAIL_BATCH = 32;

/**
 * The size of the next batch when `remaining` accounts are left to cut (planned, not yet given to a
 * batch): `batchSize` while at least two full batches are left, then half of what is left, down to
 * SMALLEST_TAIL_BATCH. `remaining` may be off (accounts tracked since the plan was counted): at 0
 * or below, full batches again until the ids run out.
 */
export function nextBatchSize(remaining: number, batchSize: number): number {
  if (remaining <= 0 || remaining >= 2 * batchSize) return batchSize;
  return Math.min(batchSize, Math.max(SMALLEST_TAIL_BATCH, Math.ceil(remaining / 2)));
}

/** Every batch's size for `accounts` accounts (how many batches a run plans). */
export function batchSizesFor(accounts: number, batchSize: number): number[] {
  const sizes: number[] = [];
  for (let remaining = accounts; remaining > 0; ) {
    const size = Math.min(remaining, nextBatchSize(remaining, batchSize));
    sizes.push(size);
    remaining -= size;
  }
  return sizes;
}
