// plugchat_sync_mismatches{field}: the mismatches with the integrator's records open now, per field,
// read from the database (the account_mismatches view) rather than counted in the process, so that
// every worker shows the same figures whichever of them closed the run.
import type { Registry } from "prom-client";
import type { Logger } from "../logger.js";
import { FIELD_LABELS, fieldLabel } from "./field-label.js";
import { registerSourcedGauge, type Source } from "./sourced-gauge.js";

/** Open mismatches per field, e.g. `mismatchCountsByField` of src/db/sql/mismatches.ts. */
export type MismatchCountsSource = Source<readonly { field: string; mismatches: number }[]>;

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
  registerSourcedGauge(registry, {
    name: "plugchat_sync_mismatches",
    help: "Accounts whose last synced value of a field disagrees with your records (the account_mismatches view), by field; the same on every worker.",
    labelNames: ["field"] as const,
    source: options.source,
    logger: options.logger,
    unavailable: "mismatch counts unavailable for metrics",
    show(gauge, rows) {
      const counts = new Map(FIELD_LABELS.map((field) => [field, 0]));
      for (const { field, mismatches } of rows) {
        const label = fieldLabel(field);
        counts.set(label, (counts.get(label) ?? 0) + mismatches);
      }
      for (const [field, count] of counts) gauge.set({ field }, count);
    },
  });
}
