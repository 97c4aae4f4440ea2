// V8's defaults suit a machine with memory to spare; plugchat-sync is meant for the smallest VM or
// container an integrator rents, often with PostgreSQL beside it. Each command sets these V8 flags as
// it starts, before Prisma compiles its WebAssembly or the heap grows (measured in docs/benchmarks.md,
// "Memory: the V8 flags every command sets"):
// - `--liftoff-only`: Prisma's query compiler (3.4 MB of WebAssembly, which spends microseconds per
//   query) stays on V8's baseline compiler; optimising it too took about 35 MB of code.
// - `--heap-growing-percent=20`: after a full collection the old generation may grow 20% past what
//   survived, not up to 4×: a run's garbage is collected long before it doubles the heap.
// - `--semi-space-growth-factor=1`: the young generation keeps its first size (1 MB a half) instead
//   of growing to 16 MB a half; its collections are more frequent and each shorter.
// None of them slowed a run at 50 ms latency; at 0 ms a run takes about 10% more CPU.
import { setFlagsFromString } from "node:v8";

const MEMORY_FLAGS: readonly string[] = [
  "--liftoff-only",
  "--heap-growing-percent=20",
  "--semi-space-growth-factor=1",
];

/** Sets MEMORY_FLAGS in this process: call it first, before anything compiles WebAssembly. */
export function useMemoryFlags(): void {
  for (const flag of MEMORY_FLAGS) setFlagsFromString(flag);
}
