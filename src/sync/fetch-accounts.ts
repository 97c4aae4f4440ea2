// Fetching one batch of accounts from Plugchat: many requests at once under a limit, and what to do
// when one fails. An account's failure is that account's; a refused token stops the whole run; an
// error that is no account's fault (the shared rate limiter unreachable) fails the batch, to be retried;
// an outage (every request failing) pauses the requests at the run's outage gate, and when the gate
// gives up, stops the run with the accounts not tried left as they were.
import { setMaxListeners } from "node:events";
import { truncate } from "../lib/text.js";
import {
  type AttemptInfo,
  type GetAccountOptions,
  type PlugchatClient,
  PlugchatError,
} from "../plugchat/index.js";
import { BatchInterruptedError } from "./errors.js";
import { FetchSlots } from "./fetch-slots.js";
import type { OutageGate } from "./outage-gate.js";
import type { RunFetchShare } from "./shared-fetch-limit.js";
import type { FetchResult } from "./types.js";

export interface FetchOptions {
  /** Requests in flight at once, when no share is given. */
  concurrency: number;
  /** Aborting it stops the fetch; the rejection is a `BatchInterruptedError`. */
  signal?: AbortSignal | undefined;
  /** Told of each account fetched (a result to write), e.g. for the run's progress. */
  onFetched?: (() => void) | undefined;
}

export interface FetchedBatch {
  /** One per account fetched; accounts left when the fetch was stopped have none. */
  results: FetchResult[];
  /** Set when a refused token stopped the run (the fetch was cut short). */
  stopReason: string | null;
}

/** What became of one request: a result to write, or a reason to stop. */
type Attempt =
  /** `unavailable`: a failure that another attempt might mend (Plugchat down, or asking to wait). */
  | { kind: "result"; result: FetchResult; unavailable?: boolean }
  | { kind: "stop_run"; reason: string }
  | { kind: "fail_batch"; error: unknown }
  | { kind: "stopped" };

/**
 * Fetches the accounts. `share` is the limiter and run stop shared with the run's other open batches;
 * without one, the batch has its own.
 */
export async function fetchAccounts(
  client: PlugchatClient,
  ids: readonly string[],
  options: FetchOptions,
  share?: RunFetchShare,
): Promise<FetchedBatch> {
  const slots = share?.slots ?? new FetchSlots(options.concurrency);
  // Two stops: the run's (shared with its other open batches: a refused token stops them all), and
  // this batch's own (an infrastructure error fails this batch only; it is retried, the others go on).
  const runStop = share?.stop ?? new AbortController();
  const batchStop = new AbortController();
  const signal = AbortSignal.any([
    runStop.signal,
    batchStop.signal,
    ...(options.signal ? [options.signal] : []),
  ]);
  // One signal fans out to every request of the batch: each adds a listener, none of them leaks.
  setMaxListeners(0, runStop.signal, signal);
  const fetcher = new BatchFetcher(client, signal, share?.outage, {
    fetched: options.onFetched,
    stopRun: () => runStop.abort(),
    failBatch: () => batchStop.abort(),
  });
  const attempts = await slots.run(ids, (id) => fetcher.fetch(id));
  if (options.signal?.aborted) throw new BatchInterruptedError(options.signal.reason);
  // Each stop makes the requests after it end as "stopped": there is one of these at most.
  for (const attempt of attempts) if (attempt.kind === "fail_batch") throw attempt.error;
  const stop = attempts.find((attempt) => attempt.kind === "stop_run");
  return {
    results: attempts.flatMap((attempt) => (attempt.kind === "result" ? [attempt.result] : [])),
    stopReason: stop?.reason ?? null,
  };
}

const STOPPED: Attempt = { kind: "stopped" };

/** What an attempt's outcome sets off beyond its account. */
interface AttemptEffects {
  /** An account fetched: a result to write. */
  fetched: (() => void) | undefined;
  /** The token was refused, or the outage gate gave up: every open batch of the run stops. */
  stopRun(): void;
  /** An error of no account's (the shared rate limiter unreachable): this batch fails, to be retried. */
  failBatch(): void;
}

/**
 * One batch's requests, one `fetch` per account, asking the run's outage gate (when it has one) before
 * each request. A request called back because an outage opened meanwhile, and a probe that got no
 * usable answer, wait at the gate again: the account is not failed for Plugchat being down. When the
 * gate gives up, the run stops.
 *
 * `fetch` is one async function, the gate's loop and the request written inline: with 64 requests in
 * flight for 50 ms each, every suspended layer is state that a worker's small young generation copies
 * and promotes (docs/benchmarks.md, "The worker's state in flight").
 */
class BatchFetcher {
  readonly #client: PlugchatClient;
  readonly #signal: AbortSignal;
  readonly #gate: OutageGate | undefined;
  readonly #gatedSignal: (() => AbortSignal) | undefined;
  /** Tells the gate of each attempt of a request that is not the probe: one function for them all. */
  readonly #record: ((info: AttemptInfo) => void) | undefined;
  readonly #effects: AttemptEffects;

  constructor(
    client: PlugchatClient,
    signal: AbortSignal,
    gate: OutageGate | undefined,
    effects: AttemptEffects,
  ) {
    this.#client = client;
    this.#signal = signal;
    this.#gate = gate;
    this.#gatedSignal = gate ? gatedSignal(signal, gate) : undefined;
    this.#record = gate ? (info) => gate.record(info, false) : undefined;
    this.#effects = effects;
  }

  async fetch(id: string): Promise<Attempt> {
    const gate = this.#gate;
    for (;;) {
      const admission = gate ? (gate.admitNow(this.#signal) ?? (await gate.admit(this.#signal))) : "go";
      if (admission === "stopped") return STOPPED;
      // Only a gate gives up, or sends a probe (once, while the outage is open: its signal aborted).
      if (admission === "give_up" && gate)
        return this.#settled({ kind: "stop_run", reason: gate.giveUpReason() });
      const probeGate = admission === "probe" ? gate : undefined;
      const requestSignal = probeGate ? this.#signal : (this.#gatedSignal?.() ?? this.#signal);
      let told = false;
      const options: GetAccountOptions = probeGate
        ? {
            signal: requestSignal,
            maxAttempts: 1,
            onAttempt: (info) => {
              told = true;
              probeGate.record(info, true);
            },
          }
        : { signal: requestSignal, onAttempt: this.#record };
      let attempt: Attempt;
      if (requestSignal.aborted) attempt = STOPPED;
      else {
        try {
          const { account, unknownFields, extra } = await this.#client.getAccount(id, options);
          attempt = { kind: "result", result: { id, kind: "ok", account, unknownFields, extra } };
        } catch (error) {
          attempt = requestSignal.aborted ? STOPPED : attemptOfError(id, error);
        }
      }
      if (probeGate && !told) probeGate.probeDropped();
      if (this.#signal.aborted) return STOPPED;
      // Called back by an outage opening (only a gated request's signal aborts without the batch's).
      if (attempt.kind === "stopped") continue;
      if (probeGate && attempt.kind === "result" && attempt.unavailable === true) continue;
      return this.#settled(attempt);
    }
  }

  #settled(attempt: Attempt): Attempt {
    if (attempt.kind === "result") this.#effects.fetched?.();
    if (attempt.kind === "stop_run") this.#effects.stopRun();
    if (attempt.kind === "fail_batch") this.#effects.failBatch();
    return attempt;
  }
}

/**
 * The batch's signal joined with the gate's current outage signal, made once per outage period and
 * shared by the batch's requests: one `AbortSignal.any` per request cost more than the request's
 * own parsing (docs/benchmarks.md, "The client's CPU per request").
 */
function gatedSignal(signal: AbortSignal, gate: OutageGate): () => AbortSignal {
  let joined: { opened: AbortSignal; signal: AbortSignal } | undefined;
  return () => {
    const opened = gate.openedSignal;
    if (joined?.opened !== opened) {
      joined = { opened, signal: AbortSignal.any([signal, opened]) };
      setMaxListeners(0, joined.signal);
    }
    return joined.signal;
  };
}

/** What a failed request means for its account, its batch and its run. */
function attemptOfError(id: string, error: unknown): Attempt {
  if (error instanceof PlugchatError && error.kind === "not_found")
    return { kind: "result", result: { id, kind: "not_found" } };
  if (error instanceof PlugchatError && error.kind === "unauthorized")
    return {
      kind: "stop_run",
      reason: `${error.message}; the run stopped (every account would fail the same way)`,
    };
  // Its `code` says the request was never sent, for a reason outside Plugchat.
  if ((error as { code?: unknown } | null)?.code === "RATE_LIMITER_UNAVAILABLE")
    return { kind: "fail_batch", error };
  const message = error instanceof Error ? error.message : String(error);
  const unavailable = error instanceof PlugchatError && error.kind === "unavailable";
  return { kind: "result", result: { id, kind: "failed", error: truncate(message, 500) }, unavailable };
}
