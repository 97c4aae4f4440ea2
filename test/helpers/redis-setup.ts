// Vitest global setup: is there a Redis for the tests of the Redis queue backend? Those tests run
// whenever one answers; otherwise they are reported as not run, in one line at the end. Under CI=true
// a missing Redis is an error, so CI never passes on skipped tests.
import { connect } from "node:net";
import type { TestProject } from "vitest/node";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

declare module "vitest" {
  export interface ProvidedContext {
    redisAvailable: boolean;
  }
}

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || "127.0.0.1", port: Number(port || 6379), timeout: 1_000 });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

export default async function setup(project: TestProject): Promise<() => void> {
  const available = await answers(TEST_REDIS_URL);
  if (!available && process.env.CI === "true") {
    throw new Error(
      `no Redis answers at ${new URL(TEST_REDIS_URL).host} (TEST_REDIS_URL): CI runs every test, so start Redis first`,
    );
  }
  project.provide("redisAvailable", available);
  return () => {
    if (!available) {
      process.stdout.write(
        `\nNot run: the tests of the Redis queue backend (no Redis at ${new URL(TEST_REDIS_URL).host}). Start Redis, or set TEST_REDIS_URL, to run them.\n`,
      );
    }
  };
}
