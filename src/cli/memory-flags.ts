// V8's defaults suit a machine with memory to spare; plugchat-sync is meant for the smallest VM or
// container an integrator rents, often with PostgreSQL beside it. Each command sets these V8 flags as
// it starts, before Prisma compiles its WebAssembly or the heap grows (measured in docs/benchmarks.md,
// "What a process's memory is made of"):
// - `--liftoff-only`: Prisma's query compiler (3.4 MB of WebAssembly, which spends microseconds per
//   query) stays on V8's baseline compiler; optimising it too took about 35 MB of code.
// - `--heap-growing-percent=20`: after a full collection the heap may grow 20% past what survived,
//   not up to 4×: a run's garbage is collected at about a third of the heap V8 would let it reach.
// - `--optimize-for-size`: V8's own memory-saving choices (smaller optimised code, sooner
//   collections), at about 15% more CPU per account, which the run's network waits absorb.
import { setFlagsFromString } from "node:v8";

export const MEMORY_FLAGS: readonly string[] = [
  "--liftoff-only",
  "--heap-growing-percent=20",
  "--optimize-for-size",
];

/** Sets MEMORY_FLAGS in this process: call it first, before anything compiles WebAssembly. */
export function useMemoryFlags(): void {
  for (const flag of MEMORY_FLAGS) setFlagsFromString(flag);
}
