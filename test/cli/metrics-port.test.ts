import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listenForHealth } from "../../src/cli/commands/worker.js";
import { UserFacingError } from "../../src/errors.js";
import { type HealthServer, startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { freePort } from "../helpers/free-port.js";
import { captureLogs } from "../helpers/logs.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Another program of the machine holding `port`, as a second worker holds the default one. */
async function squat(port: number): Promise<void> {
  const squatter: Server = createServer();
  await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
}

function healthServerOn(logs: ReturnType<typeof captureLogs>) {
  return async (port: number): Promise<HealthServer> => {
    const server = await startHealthServer({
      port,
      host: "127.0.0.1",
      metrics: createMetrics(),
      checks: {},
      logger: logs.logger,
    });
    cleanups.push(server.close);
    return server;
  };
}

describe("the worker's health endpoint port (METRICS_PORT)", () => {
  it("serves on the default port when METRICS_PORT is unset and the port is free", async () => {
    const logs = captureLogs();
    const defaultPort = await freePort();
    const server = await listenForHealth(
      { port: undefined, defaultPort, logger: logs.logger },
      healthServerOn(logs),
    );
    expect(server.port).toBe(defaultPort);
    expect(logs.lines().filter((line) => line.level === "warn")).toEqual([]);
  });

  it("serves on a free port, with a warning naming it, when METRICS_PORT is unset and the default is taken", async () => {
    const logs = captureLogs();
    const defaultPort = await freePort();
    await squat(defaultPort);
    const server = await listenForHealth(
      { port: undefined, defaultPort, logger: logs.logger },
      healthServerOn(logs),
    );
    expect(server.port).not.toBe(defaultPort);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    const warnings = logs.lines().filter((line) => line.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ defaultPort, port: server.port });
    expect(String(warnings[0]?.msg)).toContain("set METRICS_PORT to choose");
  });

  it("refuses a METRICS_PORT that was set and is taken, in one line that says how to fix it", async () => {
    const logs = captureLogs();
    const port = await freePort();
    await squat(port);
    const attempt = listenForHealth({ port, logger: logs.logger }, healthServerOn(logs));
    await expect(attempt).rejects.toBeInstanceOf(UserFacingError);
    await expect(attempt).rejects.toThrow(
      `METRICS_PORT ${port} is in use: give each worker process of a machine its own METRICS_PORT (0 picks a free one)`,
    );
  });
});
