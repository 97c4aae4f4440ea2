import type { IncomingMessage } from "node:http";
import type { SimulatorFault, SimulatorFaultType } from "./faults.js";

export interface SimulatorRequest {
  /** The decoded id from the path, or null when the path is not an account's. */
  accountId: string | null;
  method: string;
  path: string;
  /** `performance.now()` when the request arrived: compare with other requests of the same process. */
  at: number;
  /** Lowercased names, as the client sent them. */
  headers: Record<string, string>;
  /** The fault this request got, or null. */
  fault: SimulatorFault | null;
}

/** What the simulator was asked and which faults it applied: counts always, each request when asked to. */
export class RequestLog {
  readonly #keepRequests: boolean;
  #requests: SimulatorRequest[] = [];
  #byRequest = new WeakMap<IncomingMessage, SimulatorRequest>();
  #counts = new Map<string | null, number>();
  #faults: Partial<Record<SimulatorFaultType, number>> = {};

  constructor(keepRequests: boolean) {
    this.#keepRequests = keepRequests;
  }

  add(request: IncomingMessage, path: string, accountId: string | null): void {
    this.#counts.set(accountId, (this.#counts.get(accountId) ?? 0) + 1);
    if (!this.#keepRequests) return;
    const record: SimulatorRequest = {
      accountId,
      method: request.method ?? "GET",
      path,
      at: performance.now(),
      headers: flatHeaders(request),
      fault: null,
    };
    this.#requests.push(record);
    this.#byRequest.set(request, record);
  }

  addFault(request: IncomingMessage, fault: SimulatorFault): void {
    this.#faults[fault.type] = (this.#faults[fault.type] ?? 0) + 1;
    const record = this.#byRequest.get(request);
    if (record !== undefined) record.fault = fault;
  }

  faultsInjected(): { total: number; byType: Partial<Record<SimulatorFaultType, number>> } {
    const byType = { ...this.#faults };
    const total = Object.values(byType).reduce((sum, count) => sum + count, 0);
    return { total, byType };
  }

  requestCount(accountId?: string): number {
    if (accountId !== undefined) return this.#counts.get(accountId) ?? 0;
    let total = 0;
    for (const count of this.#counts.values()) total += count;
    return total;
  }

  requests(): SimulatorRequest[] {
    return this.#requests.map((record) => ({ ...record, headers: { ...record.headers } }));
  }

  reset(): void {
    this.#requests = [];
    this.#byRequest = new WeakMap();
    this.#counts = new Map();
    this.#faults = {};
  }
}

function flatHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}
