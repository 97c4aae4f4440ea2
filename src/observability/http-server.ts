// The worker's health and metrics endpoint: /healthz (liveness), /readyz (readiness: the sync
// database and the queue backend answer) and /metrics (Prometheus text format); `routes` adds the
// status page.
import { json, plainText, Router } from "../lib/http/router.js";
import { startHttpServer } from "../lib/http/server.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "./metrics.js";
import { Readiness, type ReadinessCheck } from "./readiness.js";

export interface HealthServerOptions {
  /** 0 picks a free port (tests); the chosen one is returned. */
  port: number;
  /**
   * Default: every address, IPv6 and IPv4 (`::` dual stack where the machine has IPv6, else 0.0.0.0):
   * Prometheus and the orchestrator's probes come from outside the container, over either.
   */
  host?: string;
  metrics: Pick<Metrics, "registry">;
  /** By name, as /readyz reports them (the worker's: postgres, queue). */
  checks: Readonly<Record<string, ReadinessCheck>>;
  logger: Logger;
  /** How long /readyz waits for each check; default 2000 ms. */
  checkTimeoutMs?: number;
  /** How long one round of checks serves /readyz and /healthz; default 2000 ms. */
  checkCacheMs?: number;
  /**
   * /healthz fails once this check has been failing for longer than `afterMs` (the worker's: postgres,
   * HEALTH_DATABASE_OUTAGE_MS). Unset, or 0: /healthz answers while the process does.
   */
  liveness?: { check: string; afterMs: number };
  /** More routes (the status page), for the paths this server does not have. */
  routes?: Router;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { logger } = options;
  const readiness = new Readiness(options.checks, {
    timeoutMs: options.checkTimeoutMs ?? 2000,
    cacheMs: options.checkCacheMs,
    logger,
  });
  const router = new Router({
    headers: { "cache-control": "no-store" },
    methods: ["GET", "HEAD"],
    methodNotAllowed: plainText(405, "method not allowed\n"),
  })
    .on("/healthz", async () => {
      const outage = await outageOf(readiness, options.liveness);
      return outage === undefined ? plainText(200, "ok\n") : plainText(503, `${outage}\n`);
    })
    .on("/readyz", async () => {
      const { ready, body } = await readiness.check();
      return json(ready ? 200 : 503, body, {
        headers: { "content-type": "application/json" },
        newline: true,
      });
    })
    .on("/metrics", async () => {
      const { registry } = options.metrics;
      return {
        status: 200,
        headers: { "content-type": registry.contentType },
        body: await registry.metrics(),
      };
    });
  if (options.routes) router.fallBackTo(options.routes);

  const { server, address } = await startHttpServer({
    router,
    port: options.port,
    host: options.host,
    notFound: plainText(404, "not found\n"),
    failed: plainText(500, "internal error\n"),
    onError: (error, request) =>
      logger.error({ err: error, path: request.url }, "health server request failed"),
  });
  server.on("error", (error) => logger.error({ err: error }, "health server error"));
  logger.info({ port: address.port }, "health and metrics endpoint listening");

  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections (Prometheus keeps one open) would otherwise hold close() back.
        server.closeIdleConnections();
      }),
  };
}

/** Why /healthz fails: a dependency unreachable for longer than allowed; undefined while it is alive. */
async function outageOf(
  readiness: Readiness,
  liveness: HealthServerOptions["liveness"],
): Promise<string | undefined> {
  if (!liveness || liveness.afterMs === 0) return undefined;
  await readiness.check();
  const failingMs = readiness.failingForMs(liveness.check);
  return failingMs > liveness.afterMs
    ? `${liveness.check} unreachable for ${Math.round(failingMs / 1000)} s (over ${liveness.afterMs} ms): restart the worker`
    : undefined;
}
