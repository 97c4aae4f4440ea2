// The worker's health and metrics endpoint, on node:http: /healthz (liveness), /readyz (readiness:
// the sync database and the queue backend answer) and /metrics (Prometheus text format); `routes` adds
// the status page.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";
import type { Metrics } from "./metrics.js";
import { redactUrlCredentials } from "../lib/redact.js";

/** A dependency check: resolves when the dependency answers. Its error is logged, never served. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthServerOptions {
  /** 0 picks a free port (tests); the chosen one is returned. */
  port: number;
  /** Default 0.0.0.0: Prometheus and the orchestrator's probes come from outside the container. */
  host?: string;
  metrics: Pick<Metrics, "registry">;
  /** By name, as /readyz reports them (the worker's: postgres, queue). */
  checks: Readonly<Record<string, ReadinessCheck>>;
  logger: Logger;
  /** How long /readyz waits for each check; default 2000 ms. */
  checkTimeoutMs?: number;
  /** More routes (the status page): true when they answered the request. */
  routes?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

type CheckResult = "ok" | "failed" | "timeout";

export const DEFAULT_CHECK_TIMEOUT_MS = 2000;

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { metrics, checks, logger } = options;
  const checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  // Failures are logged when a dependency goes down and when it comes back, not at every probe.
  const lastResults = new Map<string, CheckResult>();

  async function readiness(): Promise<{ ready: boolean; body: Record<string, unknown> }> {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => runCheck(name, checks[name] as ReadinessCheck)));
    const byName = Object.fromEntries(names.map((name, i) => [name, results[i] as CheckResult]));
    const failed = names.filter((name) => byName[name] !== "ok");
    return failed.length === 0
      ? { ready: true, body: { status: "ready", checks: byName } }
      : { ready: false, body: { status: "not ready", checks: byName, failed } };
  }

  async function runCheck(name: string, check: ReadinessCheck): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), checkTimeoutMs);
    });
    let problem: unknown;
    const attempt = Promise.resolve()
      .then(check)
      .then(
        () => "ok" as const,
        (error: unknown) => {
          problem = error;
          return "failed" as const;
        },
      );
    const result = await Promise.race([attempt, timedOut]);
    clearTimeout(timer);
    const previous = lastResults.get(name);
    lastResults.set(name, result);
    if (result !== "ok" && previous !== result) {
      const reason =
        result === "timeout"
          ? `no answer within ${checkTimeoutMs} ms`
          : redactUrlCredentials(describe(problem));
      logger.warn({ dependency: name, reason }, "readiness check failed");
    } else if (result === "ok" && previous !== undefined && previous !== "ok") {
      logger.info({ dependency: name }, "readiness check passes again");
    }
    return result;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      send(response, 405, "text/plain; charset=utf-8", "method not allowed\n");
      return;
    }
    switch (path) {
      case "/healthz":
        send(response, 200, "text/plain; charset=utf-8", "ok\n");
        return;
      case "/readyz": {
        const { ready, body } = await readiness();
        send(response, ready ? 200 : 503, "application/json", `${JSON.stringify(body)}\n`);
        return;
      }
      case "/metrics": {
        const text = await metrics.registry.metrics();
        send(response, 200, metrics.registry.contentType, text);
        return;
      }
      default:
        if (await options.routes?.(request, response)) return;
        send(response, 404, "text/plain; charset=utf-8", "not found\n");
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, path: request.url }, "health server request failed");
      if (!response.headersSent) send(response, 500, "text/plain; charset=utf-8", "internal error\n");
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => logger.error({ err: error }, "health server error"));
  const { port } = server.address() as AddressInfo;
  logger.info({ port }, "health and metrics endpoint listening");

  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections (Prometheus keeps one open) would otherwise hold close() back.
        server.closeIdleConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  response.end(body);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
