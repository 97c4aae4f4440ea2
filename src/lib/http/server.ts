// A node:http server around a Router: what it answers to a path no route has, and to a handler that
// throws.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Answer, Router } from "./router.js";

export interface HttpServerOptions {
  router: Router;
  /** 0 picks a free port. */
  port: number;
  /**
   * Undefined: every address of the machine, IPv6 and IPv4 alike (Node listens on `::`, dual stack,
   * where the machine has IPv6, else on 0.0.0.0).
   */
  host?: string | undefined;
  /** The answer to a path that no route has. */
  notFound: Answer;
  /** The answer to a request whose handler threw; a response already under way is cut instead. */
  failed: Answer;
  /** Called first with every request, answered or not. */
  onRequest?: (request: IncomingMessage) => void;
  /** Told of a handler that threw, before the `failed` answer. */
  onError?: (error: unknown, request: IncomingMessage) => void;
}

/** Listens until the server is ready, or rejects with the listening error (a port taken). */
export async function startHttpServer(
  options: HttpServerOptions,
): Promise<{ server: Server; address: AddressInfo }> {
  const { router } = options;
  const server = createServer((request, response) => {
    options.onRequest?.(request);
    router
      .route(request, response)
      .then((answered) => {
        if (!answered) router.send(response, options.notFound);
      })
      .catch((error: unknown) => {
        options.onError?.(error, request);
        if (!response.headersSent) router.send(response, options.failed);
        else response.destroy();
      });
  });
  server.listen(options.port, options.host);
  await once(server, "listening");
  return { server, address: server.address() as AddressInfo };
}
