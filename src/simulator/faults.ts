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
  | { type: "redirect"; location: string; status?: 301 | 302 | 303 | 307 | 308 };

export interface FaultScope {
  /** Only requests for this account; all accounts when absent. */
  accountId?: string;
  /** Only the next N matching requests; every one when absent. */
  times?: number;
}

interface FaultEntry {
  fault: SimulatorFault;
  accountId: string | undefined;
  remaining: number;
}

export class FaultTable {
  #entries: FaultEntry[] = [];

  add(fault: SimulatorFault, scope: FaultScope = {}): void {
    const remaining = scope.times ?? Number.POSITIVE_INFINITY;
    if (!(remaining > 0)) throw new RangeError(`times must be at least 1, got ${scope.times}`);
    this.#entries.unshift({ fault, accountId: scope.accountId, remaining });
  }

  clear(): void {
    this.#entries = [];
  }

  /** The fault for one request to `accountId`, using it up once; the fault set last wins. */
  take(accountId: string): SimulatorFault | undefined {
    const entry = this.#entries.find((e) => e.accountId === undefined || e.accountId === accountId);
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.#entries.splice(this.#entries.indexOf(entry), 1);
    return entry.fault;
  }
}
