// plugchat_sync_mismatches{field}: the mismatches with the integrator's records open now, per field,
// read from the database (the account_mismatches view) rather than counted in the process, so that
// every worker shows the same figures whichever of them closed the run.
import { Gauge, type Registry } from "prom-client";
import { readAtMostEvery } from "../lib/read-at-most-every.js";
import { rejectAfter } from "../lib/timeout.js";
import type { Logger } from "../logger.js";
import { FIELD_LABELS, fieldLabel } from "./field-label.js";

/** Open mismatches per field, e.g. `mismatchCountsByField` of src/db/sql/mismatches.ts. */
export type MismatchCountsSource = () => Promise<readonly { field: string; mismatches: number }[]>;

/** A source as the gauge reads it: at most once per `cacheMs`, each read bounded by `timeoutMs`. */
export function cachedMismatchCounts(
  source: MismatchCountsSource,
  options: { cacheMs: number; timeoutMs: number },
): MismatchCountsSource {
  return readAtMostEvery(options.cacheMs, () => rejectAfter(source(), options.timeoutMs));
}

/**
 * Registers the gauge, read from the current source at each scrape. Every field that can have an
 * expected value is always shown, 0 when none is open: a field whose mismatches are all resolved
 * drops to 0 instead of vanishing, and every worker lists the same series. No source, or one that
 * fails: no values (never stale ones).
 */
export function registerMismatchGauge(
  registry: Registry,
  options: { source: () => MismatchCountsSource | null; logger: Logger },
): void {
  new Gauge({
    name: "plugchat_sync_mismatches",
    help: "Accounts whose last synced value of a field disagrees with your records (the account_mismatches view), by field; the same on every worker.",
    labelNames: ["field"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const source = options.source();
      if (!source) return;
      try {
        const counts = new Map(FIELD_LABELS.map((field) => [field, 0]));
        for (const { field, mismatches } of await source()) {
          const label = fieldLabel(field);
          counts.set(label, (counts.get(label) ?? 0) + mismatches);
        }
        for (const [field, count] of counts) this.set({ field }, count);
      } catch (error) {
        options.logger.debug({ err: error }, "mismatch counts unavailable for metrics");
      }
    },
  });
}
