// Ports for servers a test starts itself (PostgreSQL, Redis, a squatter).
//
// Asking the kernel for port 0 and closing again is racy: the kernel hands the same ephemeral
// range to every outgoing connection, so another test's client can take the port before the
// server binds it (seen in CI as EADDRINUSE). These ports come from below that range instead,
// a block per vitest worker so parallel test files never pick the same one, each checked free.
import { createServer } from "node:net";

const FIRST_PORT = 20_000;
const PORTS_PER_PROCESS = 500;
const PROCESS_BLOCKS = 25; // 20,000 to 32,499: under the kernel's usual ephemeral range (32,768+)

const block = Number(process.env.VITEST_POOL_ID ?? process.pid) % PROCESS_BLOCKS;
let nextOffset = 0;

/** A TCP port on 127.0.0.1 that no socket holds now and that this helper never handed out before. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_PROCESS; tries++) {
    const port = FIRST_PORT + block * PORTS_PER_PROCESS + (nextOffset++ % PORTS_PER_PROCESS);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in this process's block of ${PORTS_PER_PROCESS}`);
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A local port with nothing listening on it, for tests of a service that does not answer. */
export const closedPort = freePort;
