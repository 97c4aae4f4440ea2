import { setMaxListeners } from "node:events";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type Answer, json, pathOf, Router } from "../lib/http/router.js";
import { startHttpServer } from "../lib/http/server.js";
import type { PlugchatAccount } from "../plugchat/index.js";
import { blankAccount, simulatedAccounts } from "./accounts.js";
import {
  accountAnswer,
  bodyFaultAnswer,
  redirectFaultAnswer,
  sendOversized,
  statusFaultAnswer,
} from "./answers.js";
import { CONTROL_PREFIX, controlRoutes } from "./control.js";
import {
  type FaultScope,
  FaultTable,
  type RandomFaults,
  type SimulatorFault,
  type SimulatorFaultType,
} from "./faults.js";
import { RequestLog, type SimulatorRequest } from "./request-log.js";

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
  /** Serve the control API under /_simulator/ (src/simulator/control.ts); default false. */
  control?: boolean;
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
  const simulator = new PlugchatSimulator(options);
  await simulator.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  return simulator;
}

class PlugchatSimulator implements Simulator {
  readonly #token: string;
  readonly #accounts: Map<string, PlugchatAccount>;
  readonly #faults = new FaultTable();
  readonly #requests: RequestLog;
  readonly #control: boolean;
  /** Stops the latency faults' waits when the simulator closes. */
  readonly #closing = new AbortController();
  #server: Server | undefined;
  #url = "";
  #port = 0;
  #closed: Promise<void> | undefined;

  constructor(options: SimulatorOptions) {
    this.#token = options.token;
    this.#accounts =
      typeof options.accounts === "object"
        ? new Map(Object.entries(options.accounts).map(([id, account]) => [id, { ...account }]))
        : simulatedAccounts(options.accounts ?? 0);
    this.#requests = new RequestLog(options.recordRequests ?? true);
    this.#control = options.control ?? false;
    // Every request held by a latency fault waits on this one signal: many at once is normal.
    setMaxListeners(0, this.#closing.signal);
  }

  get url(): string {
    return this.#url;
  }

  get port(): number {
    return this.#port;
  }

  async listen(port: number, host: string): Promise<void> {
    const router = new Router({ methodNotAllowed: json(405, { error: "method not allowed" }) }).on(
      (path) => {
        const accountId = accountIdFromPath(path);
        return accountId === null ? null : [accountId];
      },
      (request, response, [accountId]) => this.#answer(request, response, accountId as string),
      ["GET"],
    );
    if (this.#control) router.fallBackTo(controlRoutes(this));
    const { server, address } = await startHttpServer({
      router,
      port,
      host,
      notFound: json(404, { error: "not found" }),
      failed: json(500, { error: "simulator failure" }),
      // Every request counts, those refused before any route included.
      onRequest: (request) => {
        const path = pathOf(request);
        // The control API's own requests are not Plugchat's: they stay out of the counts.
        if (path.startsWith(CONTROL_PREFIX)) return;
        this.#requests.add(request, path, accountIdFromPath(path));
      },
    });
    this.#server = server;
    this.#port = address.port;
    this.#url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  }

  /** The checks a real Plugchat makes, then the fault this request gets, if any. */
  async #answer(
    request: IncomingMessage,
    response: ServerResponse,
    accountId: string,
  ): Promise<Answer | undefined> {
    if (request.headers.authorization !== `Bearer ${this.#token}`) {
      return json(401, { error: "unauthorized" }, { headers: { "www-authenticate": "Bearer" } });
    }
    if (!request.headers["content-type"]) return json(415, { error: "missing Content-Type" });
    const fault = this.#faults.take(accountId);
    if (fault !== undefined) this.#requests.addFault(request, fault);
    switch (fault?.type) {
      case "body":
        return bodyFaultAnswer(fault);
      case "status":
        return statusFaultAnswer(fault);
      case "hang":
        return undefined;
      case "reset":
        request.socket.resetAndDestroy();
        return undefined;
      case "redirect":
        return redirectFaultAnswer(fault);
      case "latency":
        // Closing drops the connection: nothing is left to answer.
        if (!(await this.#wait(fault.ms))) return undefined;
        break;
    }
    const account = this.#accounts.get(accountId);
    if (account === undefined) return json(404, { error: "account not found" });
    if (fault?.type === "oversized") {
      await sendOversized(response, account, fault);
      return undefined;
    }
    return accountAnswer(account, fault);
  }

  /** True after `ms`, false when the simulator closes first. */
  #wait(ms: number): Promise<boolean> {
    return sleep(ms, true, { signal: this.#closing.signal }).catch(() => false);
  }

  setAccount(id: string, account: Partial<PlugchatAccount>): PlugchatAccount {
    const merged = { ...(this.#accounts.get(id) ?? blankAccount(id)), ...account };
    this.#accounts.set(id, merged);
    return { ...merged };
  }

  deleteAccount(id: string): boolean {
    return this.#accounts.delete(id);
  }

  getAccount(id: string): PlugchatAccount | undefined {
    const account = this.#accounts.get(id);
    return account === undefined ? undefined : { ...account };
  }

  listIds(): string[] {
    return [...this.#accounts.keys()].sort();
  }

  setFault(fault: SimulatorFault, scope?: FaultScope): void {
    this.#faults.add(fault, scope);
  }

  setRandomFaults(faults: RandomFaults | undefined): void {
    this.#faults.setRandom(faults);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  faultsInjected(): { total: number; byType: Partial<Record<SimulatorFaultType, number>> } {
    return this.#requests.faultsInjected();
  }

  requestCount(accountId?: string): number {
    return this.#requests.requestCount(accountId);
  }

  requests(): SimulatorRequest[] {
    return this.#requests.requests();
  }

  resetStats(): void {
    this.#requests.reset();
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#closing.abort();
      const server = this.#server;
      if (server === undefined) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return this.#closed;
  }
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
