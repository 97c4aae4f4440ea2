// V8's defaults suit a machine with memory to spare; plugchat-sync is meant for the smallest VM or
// container an integrator rents, often with PostgreSQL beside it. The commands that run syncs set these
// V8 flags as they start, before Prisma compiles its WebAssembly or the heap grows (measured in
// docs/benchmarks.md, "Memory: the V8 flags the syncing commands set"):
// - `--liftoff-only`: Prisma's query compiler (1.7 MB of WebAssembly in its "small" build, which spends
//   microseconds per query) stays on V8's baseline compiler; optimising the 3.4 MB "fast" build too
//   took about 35 MB of code.
// - `--heap-growing-percent=20`: after a full collection the old generation may grow 20% past what
//   survived, not up to 4×: a run's garbage is collected long before it doubles the heap.
// - `--semi-space-growth-factor=1`, the worker's only: the young generation keeps its first size
//   (1 MB a half) instead of growing to 16 MB a half, which an idle worker would keep. Once the worker
//   has started it may grow to 2 MB a half (young-generation.ts). `sync` (peak 122 MB at 10,000
//   accounts without it, target 150) ends with its run and lets it grow.
// A short command (`report`, `accounts list`) peaks under 75 MB anyway and answered up to 25% later
// with them: it runs without.
import { setFlagsFromString } from "node:v8";

/** Every command that runs syncs. */
const SYNCING_FLAGS: readonly string[] = ["--liftoff-only", "--heap-growing-percent=20"];

/**
 * The worker's too: it lives on between runs, and an idle worker keeps the young generation a run grew.
 * A `sync` ends with its run: a young generation left to grow halves its time in GC (about 10% of its
 * CPU at 0 ms latency), and its peak stays far under its target (docs/benchmarks.md).
 */
const LONG_LIVED_FLAGS: readonly string[] = ["--semi-space-growth-factor=1"];

const FLAGS_BY_COMMAND: ReadonlyMap<string, readonly string[]> = new Map([
  ["sync", SYNCING_FLAGS],
  ["demo", SYNCING_FLAGS],
  ["worker", [...SYNCING_FLAGS, ...LONG_LIVED_FLAGS]],
]);

/**
 * Sets the V8 flags of `command` (as typed: the CLI's first argument) in this process, if it runs
 * syncs: call it first, before anything compiles WebAssembly.
 */
export function useMemoryFlagsFor(command: string | undefined): void {
  for (const flag of FLAGS_BY_COMMAND.get(command ?? "") ?? []) setFlagsFromString(flag);
}
