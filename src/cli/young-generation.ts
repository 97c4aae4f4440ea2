// The worker's young generation, kept between V8's first size (1 MB a half) and a cap (2 MB a half).
// At 1 MB a half, a worker with 64 requests in flight at 50 ms scavenged every 10-20 ms and copied what
// those requests hold twice before promoting it: a fifth of its CPU went to the garbage collector. Left
// to grow, V8 takes it to 16 MB a half, which an idle worker keeps. V8 fixes the young generation's
// bounds when the heap is made, before any code runs; only its growth factor can change later. So the
// cap is kept from inside: after each collection, growth is allowed only while under it
// (docs/benchmarks.md, "The worker's young generation: 2 MB a half").
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/** What both halves of the young generation may commit: 2 MB each. */
export const YOUNG_GENERATION_CAP_BYTES = 4 * 1024 * 1024;

/** V8's growth factor for the young generation: 2 (V8's own) while under the cap, 1 (no growth) from it. */
export function youngGenerationGrowthFactor(committedBytes: number, capBytes: number): 1 | 2 {
  return committedBytes < capBytes ? 2 : 1;
}

/**
 * Keeps the young generation under YOUNG_GENERATION_CAP_BYTES for the rest of the process: call it once
 * the process has started, as a start-up's large allocations in one go could grow it twice before a
 * check. V8 shrinks it again on its own while the process is idle; growth is then allowed again up to
 * the cap.
 */
export function capYoungGeneration(): void {
  let factor: number | undefined;
  const check = () => {
    const wanted = youngGenerationGrowthFactor(youngGenerationBytes(), YOUNG_GENERATION_CAP_BYTES);
    if (wanted === factor) return;
    setFlagsFromString(`--semi-space-growth-factor=${wanted}`);
    factor = wanted;
  };
  check();
  new PerformanceObserver(check).observe({ entryTypes: ["gc"] });
}

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
}
