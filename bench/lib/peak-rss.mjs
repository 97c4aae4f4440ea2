// For a child process that measures a peak RSS (children/account-source.mjs): timed passes, then one
// JSON line for the parent.

/**
 * Runs `pass(phase)` for each of `phases`, timing each, then disconnects `prisma` (whatever happens)
 * and prints one JSON line: this process's peak RSS (MB) and, under `key`, each pass's phase, seconds
 * and what `pass` returned.
 */
export async function printTimedPasses(prisma, key, phases, pass) {
  const passes = [];
  try {
    for (const phase of phases) {
      const started = performance.now();
      const result = await pass(phase);
      passes.push({ phase, seconds: (performance.now() - started) / 1000, ...result });
    }
  } finally {
    await prisma.$disconnect();
  }
  // maxRSS is the peak resident set of this process since it started, in kilobytes.
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ peakRssMB, [key]: passes })}\n`);
}
