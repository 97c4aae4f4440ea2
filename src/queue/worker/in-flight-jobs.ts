import { EventEmitter, once } from "node:events";
import { settlesWithin } from "../../lib/timeout.js";

/**
 * The jobs this process is running, counted by their processors' promises: the backend cannot tell
 * during an outage, and the shutdown waits for the last one to settle.
 */
export class InFlightJobs {
  private readonly running = new Set<Promise<unknown>>();
  private readonly events = new EventEmitter();

  /** Counts `work` as in flight until it settles; returns it unchanged. */
  add<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const settled = () => {
      this.running.delete(work);
      if (this.running.size === 0) this.events.emit("idle");
    };
    work.then(settled, settled);
    return work;
  }

  /** Whether no job is running any more within `ms`. */
  async idleWithin(ms: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    const idle = new AbortController();
    try {
      return await settlesWithin(once(this.events, "idle", { signal: idle.signal }), ms);
    } finally {
      // Removes the listener when the time ran out first.
      idle.abort();
    }
  }
}
