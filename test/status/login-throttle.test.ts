// Failed logins to the status page: counted per client, limited, logged without the password; a
// right password still works for other clients, and for this one once its window is over.
import { afterEach, describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import type { PrismaClient } from "../../src/db/prisma.js";
import { type HealthServer, startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { statusRoutes } from "../../src/status/index.js";
import { LoginThrottle } from "../../src/status/login-throttle.js";
import { captureLogs } from "../helpers/logs.js";

const PASSWORD = "the right status password";
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString("base64")}`;
const servers: HealthServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

describe("LoginThrottle", () => {
  it("blocks a client after 10 wrong passwords for the rest of a 5-minute window, other clients untouched", () => {
    let now = 1_000_000;
    const throttle = new LoginThrottle(() => now);
    for (let failure = 1; failure <= 9; failure++) {
      expect(throttle.failed("10.0.0.1")).toEqual({ blocked: false, failures: failure });
    }
    expect(throttle.blockedFor("10.0.0.1")).toBeUndefined();
    expect(throttle.failed("10.0.0.1")).toEqual({ blocked: true, retryAfterS: 300 });
    now += 60_000;
    expect(throttle.blockedFor("10.0.0.1")).toBe(240);
    expect(throttle.blockedFor("10.0.0.2")).toBeUndefined();
    now += 240_000;
    expect(throttle.blockedFor("10.0.0.1")).toBeUndefined();
  });

  it("starts a client's count again after a right password", () => {
    const throttle = new LoginThrottle(() => 0);
    for (let failure = 0; failure < 9; failure++) throttle.failed("c");
    throttle.succeeded("c");
    expect(throttle.failed("c")).toEqual({ blocked: false, failures: 1 });
  });
});

describe("the status page with STATUS_PASSWORD, under wrong passwords", () => {
  it("answers 401 and logs each wrong one (never the password), then 429 with Retry-After without checking the password", async () => {
    const logs = captureLogs();
    const server = await startHealthServer({
      port: 0,
      host: "127.0.0.1",
      metrics: createMetrics(),
      checks: {},
      logger: logs.logger,
      // Blocked requests never reach the database: the page's queries are not needed here.
      routes: statusRoutes({
        prisma: {} as PrismaClient,
        password: new Secret(PASSWORD),
        logger: logs.logger,
      }),
    });
    servers.push(server);
    const api = `http://127.0.0.1:${server.port}/status.css`;
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      statuses.push((await fetch(api, { headers: { authorization: basic(`guess-${attempt}`) } })).status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    // Even the right password waits out the window now: it is not checked at all.
    const blocked = await fetch(api, { headers: { authorization: basic(PASSWORD) } });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(200);
    const failed = logs.withMessage("status page login failed (wrong password)");
    expect(failed).toHaveLength(9);
    expect(failed[0]).toMatchObject({ level: "warn", client: "127.0.0.1", failures: 1 });
    expect(
      logs.withMessage(
        "status page: too many wrong passwords from one client, refused until the window ends",
      ),
    ).toHaveLength(1);
    expect(logs.text()).not.toContain("guess-");
    expect(logs.text()).not.toContain(PASSWORD);
  });
});
