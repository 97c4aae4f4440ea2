import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { PlugchatAccount } from "../plugchat/index.js";
import { blankAccount, simulatedAccounts } from "./accounts.js";
import {
  type FaultScope,
  FaultTable,
  type RandomFaults,
  type SimulatorFault,
  type SimulatorFaultType,
} from "./faults.js";

export interface SimulatorOptions {
  /** The token clients must send as `Authorization: Bearer <token>`. */
  token: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** N generated accounts (`acc-00001`...), or the accounts to serve. */
  accounts?: number | Record<string, PlugchatAccount>;
  /**
   * Keep every request for `requests()` (default true). Long-running demos and benchmarks turn it
   * off so memory stays flat; counts are kept either way.
   */
  recordRequests?: boolean;
}

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

export interface Simulator {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Creates or updates an account; missing fields keep their value (or a blank default). */
  setAccount(id: string, account: Partial<PlugchatAccount>): PlugchatAccount;
  deleteAccount(id: string): boolean;
  getAccount(id: string): PlugchatAccount | undefined;
  listIds(): string[];
  setFault(fault: SimulatorFault, scope?: FaultScope): void;
  /** Faults at random, reproducible from a seed (see `RandomFaults`); undefined stops them. */
  setRandomFaults(faults: RandomFaults | undefined): void;
  /** Forgets every fault, random ones included. */
  clearFaults(): void;
  /** Faults applied since the start or the last `resetStats`, in all and by type. */
  faultsInjected(): { total: number; byType: Partial<Record<SimulatorFaultType, number>> };
  /** Requests received for one account, or in all when no id is given. */
  requestCount(accountId?: string): number;
  requests(): SimulatorRequest[];
  resetStats(): void;
  /** Stops listening and drops every connection, hanging and keep-alive ones included. */
  close(): Promise<void>;
}

const ACCOUNT_PATH = /^\/integrator\/account\/([^/]+)\/?$/;

/** A Plugchat stand-in on loopback: `GET /integrator/account/{id}/` with faults on demand. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const accounts =
    typeof options.accounts === "object"
      ? new Map(Object.entries(options.accounts).map(([id, account]) => [id, { ...account }]))
      : simulatedAccounts(options.accounts ?? 0);
  const faults = new FaultTable();
  const recordRequests = options.recordRequests ?? true;
  let records: SimulatorRequest[] = [];
  let counts = new Map<string | null, number>();
  let injected: Partial<Record<SimulatorFaultType, number>> = {};
  const timers = new Set<NodeJS.Timeout>();

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://simulator").pathname;
    const accountId = accountIdFromPath(path);
    const method = req.method ?? "GET";
    counts.set(accountId, (counts.get(accountId) ?? 0) + 1);
    const record: SimulatorRequest = {
      accountId,
      method,
      path,
      at: performance.now(),
      headers: flatten(req),
      fault: null,
    };
    if (recordRequests) records.push(record);

    if (accountId === null) return sendJson(res, 404, { error: "not found" });
    if (method !== "GET") return sendJson(res, 405, { error: "method not allowed" }, { allow: "GET" });
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return sendJson(res, 401, { error: "unauthorized" }, { "www-authenticate": "Bearer" });
    }
    if (!req.headers["content-type"]) return sendJson(res, 415, { error: "missing Content-Type" });

    const fault = faults.take(accountId);
    if (fault !== undefined) {
      record.fault = fault;
      injected[fault.type] = (injected[fault.type] ?? 0) + 1;
    }
    switch (fault?.type) {
      case "body":
        return sendBytes(res, fault.status ?? 200, fault.body, fault.contentType);
      case "status":
        return sendFaultStatus(res, fault);
      case "hang":
        return;
      case "reset":
        req.socket.resetAndDestroy();
        return;
      case "redirect":
        res.writeHead(fault.status ?? 302, { location: fault.location }).end();
        return;
      case "latency":
        await pause(fault.ms);
        break;
    }
    const account = accounts.get(accountId);
    if (account === undefined) return sendJson(res, 404, { error: "account not found" });
    switch (fault?.type) {
      case "malformedJson":
        // Cut before the closing brace, as a truncated answer would be.
        return sendRaw(res, 200, JSON.stringify(account).slice(0, -1));
      case "wrongType":
        return sendJson(res, 200, { ...account, [fault.field]: fault.value });
      case "missingField": {
        const { [fault.field]: _dropped, ...rest } = account as unknown as Record<string, unknown>;
        return sendJson(res, 200, rest);
      }
      case "extraFields":
        return sendJson(res, 200, { ...account, ...fault.fields });
      case "oversized":
        return sendOversized(res, account, fault.bytes ?? 2 * 1024 * 1024, fault.declareLength ?? false);
    }
    return sendJson(res, 200, account);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: "simulator failure" });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    setAccount(id, account) {
      const merged = { ...(accounts.get(id) ?? blankAccount(id)), ...account };
      accounts.set(id, merged);
      return { ...merged };
    },
    deleteAccount: (id) => accounts.delete(id),
    getAccount(id) {
      const account = accounts.get(id);
      return account === undefined ? undefined : { ...account };
    },
    listIds: () => [...accounts.keys()].sort(),
    setFault: (fault, scope) => faults.add(fault, scope),
    setRandomFaults: (random) => faults.setRandom(random),
    clearFaults: () => faults.clear(),
    faultsInjected() {
      const byType = { ...injected };
      const total = Object.values(byType).reduce((sum, count) => sum + count, 0);
      return { total, byType };
    },
    requestCount(accountId) {
      if (accountId !== undefined) return counts.get(accountId) ?? 0;
      let total = 0;
      for (const count of counts.values()) total += count;
      return total;
    },
    requests: () => records.map((record) => ({ ...record, headers: { ...record.headers } })),
    resetStats() {
      records = [];
      counts = new Map();
      injected = {};
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function accountIdFromPath(path: string): string | null {
  const encoded = ACCOUNT_PATH.exec(path)?.[1];
  if (encoded === undefined) return null;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
}

function flatten(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  sendRaw(res, status, JSON.stringify(body), headers);
}

function sendRaw(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res
    .writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      ...headers,
    })
    .end(body);
}

function sendBytes(
  res: ServerResponse,
  status: number,
  body: string | Uint8Array,
  contentType = "application/json; charset=utf-8",
): void {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  res.writeHead(status, { "content-type": contentType, "content-length": bytes.byteLength }).end(bytes);
}

function sendFaultStatus(res: ServerResponse, fault: Extract<SimulatorFault, { type: "status" }>): void {
  const headers = { ...fault.headers };
  if (fault.retryAfter !== undefined) {
    headers["retry-after"] =
      fault.retryAfter instanceof Date ? fault.retryAfter.toUTCString() : String(fault.retryAfter);
  }
  if (typeof fault.body === "string") {
    sendRaw(res, fault.status, fault.body, { "content-type": "text/plain; charset=utf-8", ...headers });
  } else {
    sendJson(res, fault.status, fault.body ?? { error: `simulated HTTP ${fault.status}` }, headers);
  }
}

/** A valid account behind a padding field, written as fast as the client reads and no faster. */
async function sendOversized(
  res: ServerResponse,
  account: PlugchatAccount,
  bytes: number,
  declareLength: boolean,
): Promise<void> {
  const head = '{"padding":"';
  const tail = `",${JSON.stringify(account).slice(1)}`;
  let padding = Math.max(0, bytes - head.length - Buffer.byteLength(tail));
  const headers: Record<string, string | number> = { "content-type": "application/json; charset=utf-8" };
  if (declareLength && Number.isFinite(bytes)) {
    headers["content-length"] = head.length + padding + Buffer.byteLength(tail);
  }
  res.writeHead(200, headers);
  res.write(head);
  const chunk = Buffer.alloc(64 * 1024, "x");
  while (padding > 0 && !res.destroyed) {
    const piece = padding >= chunk.length ? chunk : chunk.subarray(0, padding);
    padding -= piece.length;
    if (!res.write(piece)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end(tail);
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
