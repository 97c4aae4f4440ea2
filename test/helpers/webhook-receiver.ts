// A real local HTTP server standing in for a notification's receiver: it keeps each request it gets.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  /** The requests so far, each once its body has arrived. */
  received: ReceivedRequest[];
  /** Stops listening (closing open connections); fine to call twice. */
  close(): Promise<void>;
}

/** Answers each request from its number (1, 2...); the default answers 200 with no body. */
export type Answer = (n: number, response: ServerResponse) => void;

/** Answers every request with `code`. */
export function status(code: number): Answer {
  return (_, response) => {
    response.statusCode = code;
    response.end();
  };
}

/** A function that starts receivers, each closed after the test that started it. */
export function useWebhookReceivers(): (answer?: Answer) => Promise<WebhookReceiver> {
  const started: WebhookReceiver[] = [];
  afterEach(async () => {
    for (const receiver of started.splice(0)) await receiver.close();
  });
  return async (answer) => {
    const receiver = await startWebhookReceiver(answer);
    started.push(receiver);
    return receiver;
  };
}

async function startWebhookReceiver(
  answer: Answer = (_, response) => response.end(),
): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      received.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
      answer(received.length, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/hooks/sync`,
    port,
    received,
    close: () => {
      closed ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
