// What the simulator answers for an account, with or without a fault: pure, apart from the streamed
// oversized body.
import type { ServerResponse } from "node:http";
import { type Answer, JSON_CONTENT_TYPE, json } from "../lib/http/router.js";
import type { PlugchatAccount } from "../plugchat/index.js";
import type { SimulatorFault } from "./faults.js";

type FaultOf<T extends SimulatorFault["type"]> = Extract<SimulatorFault, { type: T }>;

export function bodyFaultAnswer(fault: FaultOf<"body">): Answer {
  return {
    status: fault.status ?? 200,
    headers: { "content-type": fault.contentType ?? JSON_CONTENT_TYPE },
    body: fault.body,
  };
}

export function statusFaultAnswer(fault: FaultOf<"status">): Answer {
  const headers: Record<string, string> = { ...fault.headers };
  if (fault.retryAfter !== undefined) {
    headers["retry-after"] =
      fault.retryAfter instanceof Date ? fault.retryAfter.toUTCString() : String(fault.retryAfter);
  }
  if (typeof fault.body === "string") {
    return {
      status: fault.status,
      headers: { "content-type": "text/plain; charset=utf-8", ...headers },
      body: fault.body,
    };
  }
  return json(fault.status, fault.body ?? { error: `simulated HTTP ${fault.status}` }, { headers });
}

export function redirectFaultAnswer(fault: FaultOf<"redirect">): Answer {
  return { status: fault.status ?? 302, headers: { location: fault.location } };
}

/** The account as the body faults reshape it, or as it is (oversized bodies are streamed instead). */
export function accountAnswer(account: PlugchatAccount, fault: SimulatorFault | undefined): Answer {
  switch (fault?.type) {
    case "malformedJson":
      // Cut before the closing brace, as a truncated answer would be.
      return { ...json(200, account), body: JSON.stringify(account).slice(0, -1) };
    case "wrongType":
      return json(200, { ...account, [fault.field]: fault.value });
    case "missingField": {
      const { [fault.field]: _dropped, ...rest } = account as unknown as Record<string, unknown>;
      return json(200, rest);
    }
    case "extraFields":
      return json(200, { ...account, ...fault.fields });
    default:
      return json(200, account);
  }
}

/** A valid account behind a padding field, written as fast as the client reads and no faster. */
export async function sendOversized(
  response: ServerResponse,
  account: PlugchatAccount,
  fault: FaultOf<"oversized">,
): Promise<void> {
  const bytes = fault.bytes ?? 2 * 1024 * 1024;
  const head = '{"padding":"';
  const rest = `",${JSON.stringify(account).slice(1)}`;
  let padding = Math.max(0, bytes - head.length - Buffer.byteLength(rest));
  const headers: Record<string, string | number> = { "content-type": JSON_CONTENT_TYPE };
  if (fault.declareLength && Number.isFinite(bytes)) {
    headers["content-length"] = head.length + padding + Buffer.byteLength(rest);
  }
  response.writeHead(200, headers);
  response.write(head);
  const chunk = Buffer.alloc(64 * 1024, "x");
  while (padding > 0 && !response.destroyed) {
    const piece = padding >= chunk.length ? chunk : chunk.subarray(0, padding);
    padding -= piece.length;
    if (!response.write(piece)) await drainedOrClosed(response);
  }
  if (!response.destroyed) response.end(rest);
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
