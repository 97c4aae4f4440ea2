// How many Plugchat requests are in flight at once, shared by every batch a process fetches at once, so
// that the limit holds for all of them and not per batch.
import type { Logger } from "../logger.js";
import { FetchSlots } from "./fetch-slots.js";
import type { OutageSettings } from "./outage-detector.js";
import { OutageGate } from "./outage-gate.js";

/**
 * What the open batches of one run share: the limiter, and one stop, so that a refused token (or, in
 * `runSync`, the end of the run) stops the requests of every open batch; and the run's outage gate
 * (see outage-gate.ts), when it has one.
 */
export interface RunFetchShare {
  slots: FetchSlots;
  stop: AbortController;
  outage?: OutageGate | undefined;
}

/**
 * One limit of requests in flight for the whole process (an older batch's requests go first and a newer
 * batch's fill in while the older one waits for its last answers: see fetch-slots.ts), and one stop
 * per run for the batches of that run open at the moment.
 */
export class SharedFetchLimit {
  readonly #slots: FetchSlots;
  // Only runs with a batch open are kept, so the map stays as small as the batches in flight.
  readonly #runs = new Map<number, { stop: AbortController; batches: number }>();
  // The latest run's outage gate, kept between its batches: an outage outlives the batch that saw it
  // open. One run goes at a time, so a new run's batch means a new gate.
  #outage: { runId: number; gate: OutageGate } | undefined;

  constructor(
    requestsInFlight: number,
    private readonly outage?: { settings: OutageSettings; logger: Logger },
  ) {
    this.#slots = new FetchSlots(requestsInFlight);
  }

  /** The run's share for one batch; `release` when the batch is done with it. */
  open(runId: number): { share: RunFetchShare; release(): void } {
    const run = this.#runs.get(runId) ?? { stop: new AbortController(), batches: 0 };
    this.#runs.set(runId, run);
    run.batches++;
    let released = false;
    return {
      share: { slots: this.#slots, stop: run.stop, outage: this.#gateOf(runId) },
      release: () => {
        if (released) return;
        released = true;
        if (--run.batches === 0) this.#runs.delete(runId);
      },
    };
  }

  #gateOf(runId: number): OutageGate | undefined {
    if (!this.outage) return undefined;
    if (this.#outage?.runId !== runId) {
      const gate = new OutageGate(
        this.outage.settings,
        this.outage.logger.child({ runId }),
        this.#slots.size,
      );
      this.#outage = { runId, gate };
    }
    return this.#outage.gate;
  }
}
