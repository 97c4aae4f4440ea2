// The outage detector put to work for the requests of one run in one process: every request asks the
// gate first, and tells it what each attempt gave. While an outage is open, requests wait here (no
// retries burning time), one probe goes now and then, and requests already out are called back.
// Each process has its own gate: a worker sees the outage through its own requests.
import { setMaxListeners } from "node:events";
import { sleep } from "../lib/sleep.js";
import type { Logger } from "../logger.js";
import {
  OutageDetector,
  type OutageEvent,
  type OutageSettings,
  outcomeOfAttempt,
} from "./outage-detector.js";

/** What a request may do: go, go as the probe, give up (the run stops), or nothing (its fetch stopped). */
export type GateAdmission = "go" | "probe" | "give_up" | "stopped";

export class OutageGate {
  readonly #detector: OutageDetector;
  readonly #logger: Logger;
  /** Aborted when an outage opens: requests out then (their retries, backoffs) come back to wait. */
  #opened = new AbortController();
  /** Aborted whenever the state changes, to wake the requests waiting. */
  #changed = new AbortController();

  /** `accountsAtOnce`: the requests in flight at once (see OutageDetector). */
  constructor(settings: OutageSettings, logger: Logger, accountsAtOnce?: number) {
    this.#detector = new OutageDetector(settings, accountsAtOnce);
    this.#logger = logger;
    // Every request waiting or out listens to these: none of them leaks.
    setMaxListeners(0, this.#opened.signal, this.#changed.signal);
  }

  /** Aborted once the current outage opens; a request sent with it returns to `admit` then. */
  get openedSignal(): AbortSignal {
    return this.#opened.signal;
  }

  /**
   * What a request may do now, or undefined when it must wait (then `admit`): while Plugchat answers,
   * a request goes with no promise made for it.
   */
  admitNow(signal: AbortSignal): GateAdmission | undefined {
    const decided = this.#decide(signal);
    return typeof decided === "string" ? decided : undefined;
  }

  /** Waits until a request may go (at once while Plugchat answers). */
  async admit(signal: AbortSignal): Promise<GateAdmission> {
    for (;;) {
      const decided = this.#decide(signal);
      if (typeof decided === "string") return decided;
      const wake = AbortSignal.any([signal, this.#changed.signal]);
      await sleep(Math.max(decided.untilMs - Date.now(), 0), wake).catch(() => undefined);
    }
  }

  /** What a request may do now, or until when it must wait. */
  #decide(signal: AbortSignal): GateAdmission | { untilMs: number } {
    if (signal.aborted) return "stopped";
    const admission = this.#detector.admit(Date.now());
    if (admission.kind === "wait") return admission;
    if (admission.kind === "give_up") this.#wake();
    return admission.kind;
  }

  /** One HTTP attempt's outcome (the client's onAttempt); `probe` for the probe's. */
  record(attempt: { accountId: string; status: number | null; code: string | null }, probe: boolean): void {
    const event = this.#detector.record(outcomeOfAttempt(attempt), Date.now(), probe);
    if (event) this.#announce(event);
    else if (probe) this.#wake();
  }

  /** The probe ended with no attempt told (stopped, or refused before it was sent): another may go. */
  probeDropped(): void {
    this.#detector.probeDropped();
    this.#wake();
  }

  /** Why the run stopped, once the gate gave up. */
  giveUpReason(): string {
    return this.#detector.giveUpReason() ?? "Plugchat unreachable";
  }

  #announce(event: OutageEvent): void {
    const { probeEveryMs, giveUpMs } = this.#detector.settings;
    if (event.kind === "opened") {
      this.#logger.warn(
        { failuresInARow: event.failuresInARow, lastFailure: event.lastFailure, probeEveryMs, giveUpMs },
        `Plugchat is failing: ${event.failuresInARow} requests in a row failed (last: ${event.lastFailure}); requests wait, one probe every ${probeEveryMs / 1000} s, the run gives up after ${giveUpMs / 1000} s without an answer`,
      );
      this.#opened.abort();
    } else {
      this.#logger.warn(
        { downMs: event.downMs, probes: event.probes, failures: event.failures },
        `Plugchat recovered after ${Math.round(event.downMs / 1000)} s: requests resumed`,
      );
      this.#opened = new AbortController();
      setMaxListeners(0, this.#opened.signal);
    }
    this.#wake();
  }

  #wake(): void {
    this.#changed.abort();
    this.#changed = new AbortController();
    setMaxListeners(0, this.#changed.signal);
  }
}
