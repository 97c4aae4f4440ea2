// How a run cuts its accounts into batches: full ones, then a tail that halves, so that the batch
// written after the run's last answer is small.
import { describe, expect, it } from "vitest";
import { batchSizesFor, nextBatchSize, SMALLEST_TAIL_BATCH } from "../../src/sync/batch-sizes.js";

describe("batchSizesFor", () => {
  it("cuts full batches while two are left, then halves what is left down to the smallest tail batch", () => {
    expect(batchSizesFor(10_000, 500)).toEqual([...Array(19).fill(500), 250, 125, 63, 32, 30]);
  });

  it("gives every account to one batch, none larger than the batch size, for any count", () => {
    for (const batchSize of [1, 7, 32, 33, 100, 500, 2_000]) {
      for (const accounts of [0, 1, 31, 32, 33, 499, 500, 501, 999, 1_000, 1_001, 12_345]) {
        const sizes = batchSizesFor(accounts, batchSize);
        expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(accounts);
        expect(sizes.every((size) => size > 0 && size <= batchSize)).toBe(true);
      }
    }
  });

  it("keeps a batch size no larger than the smallest tail batch as it is: nothing to taper", () => {
    expect(batchSizesFor(100, SMALLEST_TAIL_BATCH)).toEqual([32, 32, 32, 4]);
    expect(batchSizesFor(10, 3)).toEqual([3, 3, 3, 1]);
  });

  it("makes a run smaller than two batches a tail at once", () => {
    expect(batchSizesFor(600, 500)).toEqual([300, 150, 75, 38, 32, 5]);
    expect(batchSizesFor(20, 500)).toEqual([20]);
  });
});

describe("nextBatchSize", () => {
  it("goes back to full batches once the plan is used up (accounts tracked since it was counted)", () => {
    expect(nextBatchSize(0, 500)).toBe(500);
    expect(nextBatchSize(-40, 500)).toBe(500);
  });
});
