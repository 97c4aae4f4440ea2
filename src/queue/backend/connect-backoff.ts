// Reconnection backoff for the pools BullMQ's PostgreSQL backend builds. BullMQ retries a failed
// fetch at once unless the error looks like "connection refused", and a pg pool connects anew for
// every query: while PostgreSQL restarts ("the database system is starting up") or a proxy resets
// connections, a worker would open hundreds of connections a second. Every pool of a process shares
// one gate: after a failed connection, the next ones wait (500 ms doubling, capped), like ioredis's
// reconnection on the Redis backend; queries wait instead of failing in a loop.
import pg from "pg";
import { reconnectDelay } from "./reconnect-delay.js";

export interface ConnectGate {
  /** Resolves when a new connection may be tried. */
  wait(): Promise<void>;
  succeeded(): void;
  failed(): void;
}

export function createConnectGate(maxDelayMs: number, now = () => Date.now()): ConnectGate {
  let failures = 0;
  let nextAttemptAt = 0;
  return {
    wait: async () => {
      const delay = nextAttemptAt - now();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    },
    succeeded: () => {
      failures = 0;
      nextAttemptAt = 0;
    },
    failed: () => {
      failures++;
      nextAttemptAt = Math.max(nextAttemptAt, now() + reconnectDelay(failures, maxDelayMs));
    },
  };
}

/** A pg Client class whose connections go through the gate (pg.Pool's `Client` option). */
export function gatedClientClass(gate: ConnectGate): typeof pg.Client {
  return class GatedClient extends pg.Client {
    // pg.Pool connects with a callback; direct users await the promise.
    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
      const connected = gate.wait().then(() =>
        super.connect().then(
          () => {
            gate.succeeded();
            return this as pg.Client;
          },
          (error: Error) => {
            gate.failed();
            throw error;
          },
        ),
      );
      if (!callback) return connected;
      connected.then(
        () => callback(undefined as unknown as Error),
        (error: Error) => callback(error),
      );
      return undefined;
    }
  };
}
