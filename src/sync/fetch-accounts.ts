// Fetching one batch of accounts from Plugchat: many requests at once under a limit, and what to do
// when one fails. An account's failure is that account's; a refused token stops the whole run; an
// error that is no account's fault (the shared rate limiter unreachable) fails the batch, to be retried;
// an outage (every request failing) pauses the requests at the run's outage gate, and when the gate
// gives up, stops the run with the accounts not tried left as they were.
import { setMaxListeners } from "node:events";
import pLimit from "p-limit";
import { truncate } from "../lib/text.js";
import { type GetAccountOptions, type PlugchatClient, PlugchatError } from "../plugchat/index.js";
import { BatchInterruptedError } from "./errors.js";
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
  const limit = share?.limit ?? pLimit(options.concurrency);
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
  const gated = share?.outage ? { gate: share.outage, signal: gatedSignal(signal, share.outage) } : undefined;
  const attempts = await Promise.all(
    ids.map((id) =>
      limit(async () => {
        const attempt = gated
          ? await fetchThroughGate(client, id, signal, gated)
          : await fetchOne(client, id, signal);
        if (attempt.kind === "result") options.onFetched?.();
        if (attempt.kind === "stop_run") runStop.abort();
        if (attempt.kind === "fail_batch") batchStop.abort();
        return attempt;
      }),
    ),
  );
  if (options.signal?.aborted) throw new BatchInterruptedError(options.signal.reason);
  // Each stop makes the requests after it end as "stopped": there is one of these at most.
  for (const attempt of attempts) if (attempt.kind === "fail_batch") throw attempt.error;
  const stop = attempts.find((attempt) => attempt.kind === "stop_run");
  return {
    results: attempts.flatMap((attempt) => (attempt.kind === "result" ? [attempt.result] : [])),
    stopReason: stop?.reason ?? null,
  };
}

/**
 * One account, asking the run's outage gate before each request. A request called back because an
 * outage opened meanwhile, and a probe that got no usable answer, wait at the gate again: the account
 * is not failed for Plugchat being down. When the gate gives up, the run stops.
 */
async function fetchThroughGate(
  client: PlugchatClient,
  id: string,
  signal: AbortSignal,
  { gate, signal: gatedSignal }: { gate: OutageGate; signal: () => AbortSignal },
): Promise<Attempt> {
  for (;;) {
    const admission = await gate.admit(signal);
    if (admission === "stopped") return { kind: "stopped" };
    if (admission === "give_up") return { kind: "stop_run", reason: gate.giveUpReason() };
    const probe = admission === "probe";
    // The probe is sent while the outage is open (its signal aborted already), and only once.
    const requestSignal = probe ? signal : gatedSignal();
    let told = false;
    const attempt = await fetchOne(client, id, requestSignal, {
      onAttempt: (info) => {
        told = true;
        gate.record(info, probe);
      },
      ...(probe ? { maxAttempts: 1 } : {}),
    });
    if (probe && !told) gate.probeDropped();
    if (signal.aborted) return { kind: "stopped" };
    if (attempt.kind === "stopped") continue;
    if (probe && attempt.kind === "result" && attempt.unavailable === true) continue;
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

async function fetchOne(
  client: PlugchatClient,
  id: string,
  signal: AbortSignal,
  extra: Omit<GetAccountOptions, "signal"> = {},
): Promise<Attempt> {
  if (signal.aborted) return { kind: "stopped" };
  try {
    const fetched = await client.getAccount(id, { signal, ...extra });
    const result: FetchResult = {
      id,
      kind: "ok",
      account: fetched.account,
      unknownFields: fetched.unknownFields,
      extra: fetched.extra,
    };
    return { kind: "result", result };
  } catch (error) {
    if (signal.aborted) return { kind: "stopped" };
    return attemptOfError(id, error);
  }
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
