// V8's defaults suit a machine with memory to spare; plugchat-sync is meant for the smallest VM or
// container an integrator rents, often with PostgreSQL beside it. The commands that run syncs set these
// V8 flags as they start, before Prisma compiles its WebAssembly or the heap grows (measured in
// docs/benchmarks.md, "Memory: the V8 flags the syncing commands set"):
// - `--liftoff-only`: Prisma's query compiler (1.7 MB of WebAssembly in its "small" build, which spends
//   microseconds per query) stays on V8's baseline compiler; optimising the 3.4 MB "fast" build too
//   took about 35 MB of code.
// - `--heap-growing-percent=20`: after a full collection the old generation may grow 20% past what
//   survived, not up to 4×: a run's garbage is collected long before it doubles the heap.
// - `--semi-space-growth-factor=1`: the young generation keeps its first size (1 MB a half) instead
//   of growing to 16 MB a half; its collections are more frequent and each shorter.
// None of them slowed a run at 50 ms latency; at 0 ms a run takes about 10% more CPU. A short command
// (`report`, `accounts list`) peaks under 75 MB anyway and answered up to 25% later with them: it runs
// without.
import { setFlagsFromString } from "node:v8";

const MEMORY_FLAGS: readonly string[] = [
  "--liftoff-only",
  "--heap-growing-percent=20",
  "--semi-space-growth-factor=1",
];

/** The commands that run syncs, in this process or as a worker. */
const SYNCING_COMMANDS: ReadonlySet<string> = new Set(["sync", "worker", "demo"]);

/** Sets MEMORY_FLAGS in this process: call it first, before anything compiles WebAssembly. */
function useMemoryFlags(): void {
  for (const flag of MEMORY_FLAGS) setFlagsFromString(flag);
}

/** useMemoryFlags for a command that runs syncs (`command` as typed: the CLI's first argument). */
export function useMemoryFlagsFor(command: string | undefined): void {
  if (command !== undefined && SYNCING_COMMANDS.has(command)) useMemoryFlags();
}
