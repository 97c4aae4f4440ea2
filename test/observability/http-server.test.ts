import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import { afterEach, describe, expect, inject, it } from "vitest";
import { json, Router } from "../../src/lib/http/router.js";
import { type HealthServerOptions, startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { decideAccess } from "../../src/status/access.js";
import { closedPort } from "../helpers/free-port.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const POSTGRES_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

const cleanups: (() => Promise<void> | void)[] = [];
let logs: CapturedLogs;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(overrides: Partial<HealthServerOptions> = {}): Promise<string> {
  logs = captureLogs();
  const server = await startHealthServer({
    port: 0,
    host: "127.0.0.1",
    metrics: createMetrics(),
    checks: { postgres: async () => {}, redis: async () => {} },
    logger: logs.logger,
    ...overrides,
  });
  cleanups.push(server.close);
  expect(server.port).toBeGreaterThan(0);
  return `http://127.0.0.1:${server.port}`;
}

describe("startHealthServer", () => {
  it("answers /healthz with 200 ok", async () => {
    const base = await start();
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok\n");
  });

  it("answers /readyz with 200 when every check passes", async () => {
    const base = await start();
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
  });

  it("answers /readyz with 503 naming redis when its check rejects, without the error's secrets", async () => {
    const base = await start({
      checks: {
        postgres: async () => {},
        redis: async () => {
          throw new Error("connect ECONNREFUSED redis://default:hunter2@10.0.0.9:6379");
        },
      },
    });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({
      status: "not ready",
      checks: { postgres: "ok", redis: "failed" },
      failed: ["redis"],
    });
    expect(body).not.toContain("hunter2");
    // The reason goes to the log, once per outage and without the password.
    await fetch(`${base}/readyz`);
    const warnings = logs.withMessage("readiness check failed");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: "warn", dependency: "redis" });
    expect(String(warnings[0]?.reason)).toContain("ECONNREFUSED");
    expect(logs.text()).not.toContain("hunter2");
  });

  it("answers many probes of /readyz and /healthz from one round of checks (figures at most checkCacheMs old)", async () => {
    let rounds = 0;
    const base = await start({
      checkCacheMs: 60_000,
      liveness: { check: "postgres", afterMs: 1_000 },
      checks: {
        postgres: async () => {
          rounds += 1;
        },
      },
    });
    for (let probe = 0; probe < 10; probe++) {
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    }
    expect(rounds).toBe(1);
  });

  it("fails /healthz once postgres has been unreachable longer than the bound, and passes again when it answers", async () => {
    let down = true;
    const base = await start({
      checkCacheMs: 0,
      liveness: { check: "postgres", afterMs: 300 },
      checks: {
        postgres: async () => {
          if (down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        },
        redis: async () => {},
      },
    });
    // Down, but not for long yet: not ready, still alive.
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await sleep(400);
    const failing = await fetch(`${base}/healthz`);
    expect(failing.status).toBe(503);
    expect(await failing.text()).toMatch(
      /^postgres unreachable for \d+ s \(over 300 ms\): restart the worker\n$/,
    );
    down = false;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it("keeps /healthz at 200 through any outage when the bound is 0", async () => {
    const base = await start({
      checkCacheMs: 0,
      liveness: { check: "postgres", afterMs: 0 },
      checks: {
        postgres: async () => {
          throw new Error("down");
        },
      },
    });
    await fetch(`${base}/readyz`);
    await sleep(50);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it("answers /readyz with 503 when a check does not answer within the timeout", async () => {
    const base = await start({
      checkTimeoutMs: 100,
      checks: { postgres: () => new Promise(() => {}), redis: async () => {} },
    });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      checks: { postgres: "timeout", redis: "ok" },
      failed: ["postgres"],
    });
  });

  it.skipIf(!inject("redisAvailable"))(
    "answers /readyz with 200 with real checks: a Redis PING and a PostgreSQL SELECT 1",
    async () => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      cleanups.push(() => redis.disconnect());
      const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
      cleanups.push(() => pool.end());
      const base = await start({
        checks: {
          redis: async () => {
            expect(await redis.ping()).toBe("PONG");
          },
          postgres: async () => {
            await pool.query("SELECT 1");
          },
        },
      });
      const response = await fetch(`${base}/readyz`);
      expect(await response.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
      expect(response.status).toBe(200);
    },
  );

  it("answers /readyz with 503 naming redis when a real Redis cannot be reached", async () => {
    const port = await closedPort();
    // Like BullMQ's connections: a PING waits for a reconnection that never comes.
    const redis = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: null,
      retryStrategy: () => 50,
    });
    redis.on("error", () => undefined);
    cleanups.push(() => redis.disconnect());
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
    cleanups.push(() => pool.end());
    const base = await start({
      checkTimeoutMs: 300,
      checks: {
        redis: async () => {
          await redis.ping();
        },
        postgres: async () => {
          await pool.query("SELECT 1");
        },
      },
    });
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      checks: { postgres: "ok", redis: "timeout" },
      failed: ["redis"],
    });
  });

  it("answers 404 to unknown paths and 405 to other methods than GET", async () => {
    const base = await start();
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await fetch(`${base}/healthz?probe=1`)).status).toBe(200);
  });

  it("closes even while a scraper keeps its connection alive", async () => {
    logs = captureLogs();
    const server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      metrics: createMetrics(),
      checks: { postgres: async () => {}, redis: async () => {} },
      logger: logs.logger,
    });
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
      headers: { connection: "keep-alive" },
    });
    await response.text();
    await server.close();
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });
});

/** Whether this machine can listen on its IPv6 loopback (a container may have no IPv6 at all). */
function canListenOn(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(0, host, () => probe.close(() => resolve(true)));
  });
}

const ipv6Loopback = await canListenOn("::1");

describe("startHealthServer without a host", () => {
  it.skipIf(!ipv6Loopback)(
    "serves [::1] and 127.0.0.1 alike, each a loopback client to the status page's access rule",
    async () => {
      // What the status page decides for the client as the socket reports it (::1, ::ffff:127.0.0.1).
      const routes = new Router().on("/access", (request) =>
        json(200, {
          kind: decideAccess(
            {
              remoteAddress: request.socket.remoteAddress,
              host: request.headers.host,
              authorization: undefined,
            },
            undefined,
          ).kind,
        }),
      );
      const port = new URL(await start({ host: undefined, routes })).port;
      for (const base of [`http://[::1]:${port}`, `http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        expect(await (await fetch(`${base}/access`)).json()).toEqual({ kind: "allow" });
      }
    },
  );

  if (!ipv6Loopback) {
    it.skip("this machine cannot listen on ::1 (no IPv6 loopback): serving [::1] was not tested", () => {});
  }
});
