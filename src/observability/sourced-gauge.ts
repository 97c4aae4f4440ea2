// Gauges whose figures describe the deployment (read from the database or the queue) rather than
// what one process did: read at scrape time from a source shared by every scrape, so that many
// scrapes (one per replica and Prometheus server) cost at most one read per cache period, and shown
// only when the read succeeds: a failing or hanging source gives no values, never stale ones.
import { Gauge, type Registry } from "prom-client";
import { readAtMostEvery } from "../lib/read-at-most-every.js";
import { rejectAfter } from "../lib/timeout.js";
import type { Logger } from "../logger.js";

export type Source<T> = () => Promise<T>;

/** `source` as gauges read it: at most once per `cacheMs`, each read bounded by `timeoutMs`. */
export function cachedSource<T>(
  source: Source<T>,
  options: { cacheMs: number; timeoutMs: number },
): Source<T> {
  return readAtMostEvery(options.cacheMs, () => rejectAfter(source(), options.timeoutMs));
}

export interface SourcedGaugeOptions<T, L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** The current source; null: no values. */
  source: () => Source<T> | null;
  /** Sets the gauge's values from one reading (the gauge was reset just before). */
  show: (gauge: Gauge<L>, reading: T) => void;
  logger: Logger;
  /** Logged at debug, with the error, when the source fails. */
  unavailable: string;
}

export function registerSourcedGauge<T, L extends string>(
  registry: Registry,
  options: SourcedGaugeOptions<T, L>,
): void {
  new SourcedGauge<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames,
    registers: [registry],
    async collect() {
      const gauge = this as SourcedGauge<L>;
      gauge.reset();
      gauge.shown = false;
      const source = options.source();
      if (!source) return;
      try {
        options.show(gauge, await source());
        gauge.shown = true;
      } catch (error) {
        gauge.reset();
        options.logger.debug({ err: error, metric: options.name }, options.unavailable);
      }
    },
  });
}

/**
 * A gauge that shows no value unless its last reading succeeded: prom-client always shows a gauge
 * without labels, at 0 after a reset, which would read as "never" (a last success at 0).
 */
class SourcedGauge<L extends string> extends Gauge<L> {
  shown = false;

  override async get() {
    const metric = await super.get();
    return this.shown ? metric : { ...metric, values: [] };
  }
}
