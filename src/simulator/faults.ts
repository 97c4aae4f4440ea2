/**
 * Ways the simulator can misbehave, one per request. Faults apply to requests that pass the method,
 * token and Content-Type checks; the body faults reshape the stored account, so an unknown account
 * still gets its 404.
 */
export type SimulatorFault =
  /** Answer this status; `body` is sent as JSON unless it is a string; `retryAfter` in seconds or a date. */
  | {
      type: "status";
      status: number;
      body?: unknown;
      retryAfter?: number | Date | string;
      headers?: Record<string, string>;
    }
  /** Wait, then answer normally. */
  | { type: "latency"; ms: number }
  /** Never answer: the connection stays open until the client gives up or the simulator closes. */
  | { type: "hang" }
  /** Destroy the connection with a TCP reset (ECONNRESET on the client). */
  | { type: "reset" }
  | { type: "malformedJson" }
  /** The account with one field replaced, e.g. `{ field: "active", value: "yes" }`. */
  | { type: "wrongType"; field: string; value: unknown }
  | { type: "missingField"; field: string }
  | { type: "extraFields"; fields: Record<string, unknown> }
  /**
   * A valid account padded to `bytes` (default 2 MiB; Infinity streams until the client hangs up).
   * Sent chunked unless `declareLength`, so the client must cut the stream itself.
   */
  | { type: "oversized"; bytes?: number; declareLength?: boolean }
  | { type: "redirect"; location: string; status?: 301 | 302 | 303 | 307 | 308 }
  /**
   * Answer exactly these bytes (a string is sent as UTF-8) with `status` (default 200), whatever the
   * account holds: for bodies no account could produce (truncated, invalid UTF-8, NUL, lone surrogates).
   */
  | { type: "body"; body: string | Uint8Array; status?: number; contentType?: string };

export type SimulatorFaultType = SimulatorFault["type"];

export interface FaultScope {
  /** Only requests for this account; all accounts when absent. */
  accountId?: string;
  /** Only the next N matching requests; every one when absent. */
  times?: number;
}

/**
 * Faults at random: each request gets one of `faults` (equal chances) with probability `rate`.
 * Reproducible whatever the order requests arrive in: the draw for the n-th request to an account
 * depends only on `seed`, the account id and n, so the same seed gives every account the same faults.
 */
export interface RandomFaults {
  /** Share of requests that get a fault, from 0 to 1. */
  rate: number;
  faults: readonly SimulatorFault[];
  seed: number;
  /** Only requests for these accounts; all accounts when absent. */
  accountIds?: readonly string[];
}

interface FaultEntry {
  fault: SimulatorFault;
  accountId: string | undefined;
  remaining: number;
}

export class FaultTable {
  #entries: FaultEntry[] = [];
  #random: { config: RandomFaults; accounts: Set<string> | undefined } | undefined;
  /** Requests seen per account while random faults are set: the n of each draw. */
  #seen = new Map<string, number>();

  add(fault: SimulatorFault, scope: FaultScope = {}): void {
    const remaining = scope.times ?? Number.POSITIVE_INFINITY;
    if (!(remaining > 0)) throw new RangeError(`times must be at least 1, got ${scope.times}`);
    this.#entries.unshift({ fault, accountId: scope.accountId, remaining });
  }

  /** Replaces the random faults (undefined: none), and starts every account's draws afresh. */
  setRandom(config: RandomFaults | undefined): void {
    if (config !== undefined) {
      if (!(config.rate >= 0 && config.rate <= 1)) {
        throw new RangeError(`rate must be from 0 to 1, got ${config.rate}`);
      }
      if (config.faults.length === 0 && config.rate > 0) throw new RangeError("faults must not be empty");
      if (!Number.isInteger(config.seed)) throw new RangeError(`seed must be an integer, got ${config.seed}`);
    }
    this.#random =
      config === undefined
        ? undefined
        : { config, accounts: config.accountIds === undefined ? undefined : new Set(config.accountIds) };
    this.#seen.clear();
  }

  clear(): void {
    this.#entries = [];
    this.setRandom(undefined);
  }

  /**
   * The fault for one request to `accountId`: a fault set with `add` first, using it up once (the
   * one set last wins), else a random one when random faults are set.
   */
  take(accountId: string): SimulatorFault | undefined {
    const entry = this.#entries.find((e) => e.accountId === undefined || e.accountId === accountId);
    if (entry !== undefined) {
      entry.remaining -= 1;
      if (entry.remaining === 0) this.#entries.splice(this.#entries.indexOf(entry), 1);
      return entry.fault;
    }
    const random = this.#random;
    if (random === undefined || (random.accounts !== undefined && !random.accounts.has(accountId))) {
      return undefined;
    }
    const n = (this.#seen.get(accountId) ?? 0) + 1;
    this.#seen.set(accountId, n);
    return drawRandomFault(random.config, accountId, n);
  }
}

/** The random fault of the n-th request (from 1) to an account, or undefined: a pure function. */
export function drawRandomFault(
  config: Pick<RandomFaults, "rate" | "faults" | "seed">,
  accountId: string,
  n: number,
): SimulatorFault | undefined {
  const next = mulberry32(hashString(`${config.seed}:${accountId}:${n}`));
  if (next() >= config.rate) return undefined;
  return config.faults[Math.floor(next() * config.faults.length)];
}

/** FNV-1a, 32 bits. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A small seeded generator of numbers in [0, 1): the same seed, the same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
