// The simulator's control API, under /_simulator/ on the simulator's own port: change, delete and
// restore accounts, and set or clear faults, with curl, so that anyone can make drift, a 404 or an
// outage happen without writing code. It needs no token (the simulator serves loopback only by
// default, and holds no real data); the Plugchat route keeps asking for its token as Plugchat does.
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { type Answer, json, type PathMatcher, Router } from "../lib/http/router.js";
import type { PlugchatAccount } from "../plugchat/index.js";
import type { SimulatorFault } from "./faults.js";
import type { Simulator } from "./server.js";

export const CONTROL_PREFIX = "/_simulator";

/** Largest request body the control API reads: an account or a fault is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

const webhook = z.string().max(2_048).nullable();
/** Fields of an account as the API names them, any of them: what a change or a file may set. */
export const accountFields = z
  .object({
    externalId: z.string().max(256).nullable(),
    name: z.string().max(256),
    active: z.boolean(),
    onStartAttendance: webhook,
    onFinishAttendance: webhook,
    onReceiveMessage: webhook,
    onSendingMessage: webhook,
    onMessageStatus: webhook,
    onMessageDeliveryError: webhook,
  })
  .partial()
  .strict();

const fault = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("status"),
      status: z.number().int().min(100).max(599),
      retryAfter: z.number().int().min(0).optional(),
    })
    .strict(),
  z.object({ type: z.literal("latency"), ms: z.number().int().min(0).max(600_000) }).strict(),
  z.object({ type: z.literal("hang") }).strict(),
  z.object({ type: z.literal("reset") }).strict(),
  z.object({ type: z.literal("malformedJson") }).strict(),
  z.object({ type: z.literal("missingField"), field: z.string().min(1).max(64) }).strict(),
  z.object({ type: z.literal("wrongType"), field: z.string().min(1).max(64), value: z.unknown() }).strict(),
  z.object({ type: z.literal("extraFields"), fields: z.record(z.string().max(64), z.unknown()) }).strict(),
]);

const faultRequest = z
  .object({
    fault,
    /** Only this account's requests; every account's when absent. */
    accountId: z.string().min(1).max(128).optional(),
    /** Only the next N matching requests; every one when absent. */
    times: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();

/** The control routes of `simulator`; accounts deleted through them can be restored. */
export function controlRoutes(simulator: Simulator): Router {
  const control = new Control(simulator);
  return new Router({ headers: { "cache-control": "no-store" } })
    .on(`${CONTROL_PREFIX}/accounts`, () => ok({ ids: simulator.listIds() }), ["GET"])
    .on(
      pathWith(/^\/_simulator\/accounts\/([^/]+)$/),
      (request, _, [id]) => control.account(request, id as string),
      ["GET", "PUT", "PATCH", "DELETE"],
    )
    .on(
      pathWith(/^\/_simulator\/accounts\/([^/]+)\/restore$/),
      (_, __, [id]) => control.restore(id as string),
      ["POST"],
    )
    .on(`${CONTROL_PREFIX}/faults`, (request) => control.faults(request), ["POST", "DELETE"])
    .on(
      `${CONTROL_PREFIX}/stats`,
      () => ok({ requests: simulator.requestCount(), faults: simulator.faultsInjected() }),
      ["GET"],
    );
}

class Control {
  /** Accounts deleted through the API, as they were: `restore` brings them back. */
  readonly #deleted = new Map<string, PlugchatAccount>();

  constructor(private readonly simulator: Simulator) {}

  async account(request: IncomingMessage, id: string): Promise<Answer> {
    if (request.method === "GET" || request.method === "HEAD") return accountAnswer(this.simulator, id);
    if (request.method === "DELETE") return this.#delete(id);
    const change = await parsedBody(request, accountFields);
    if ("error" in change) return change.error;
    this.#deleted.delete(id);
    return ok({ id, account: this.simulator.setAccount(id, change.value) });
  }

  restore(id: string): Answer {
    const account = this.#deleted.get(id);
    if (account === undefined) {
      return json(404, { error: `no deleted account ${JSON.stringify(id)} to restore` }, { newline: true });
    }
    this.#deleted.delete(id);
    return ok({ id, account: this.simulator.setAccount(id, account) });
  }

  async faults(request: IncomingMessage): Promise<Answer> {
    if (request.method === "DELETE") {
      this.simulator.clearFaults();
      return ok({ cleared: true });
    }
    const parsed = await parsedBody(request, faultRequest);
    if ("error" in parsed) return parsed.error;
    const { fault: chosen, accountId, times } = parsed.value;
    this.simulator.setFault(chosen as SimulatorFault, { accountId, times });
    return ok({ fault: chosen, accountId: accountId ?? "every account", times: times ?? "every request" });
  }

  #delete(id: string): Answer {
    const account = this.simulator.getAccount(id);
    if (account === undefined) return notFound(id);
    this.#deleted.set(id, account);
    this.simulator.deleteAccount(id);
    return ok({
      id,
      deleted: true,
      note: "Plugchat now answers 404 for it; POST .../restore brings it back",
    });
  }
}

function accountAnswer(simulator: Simulator, id: string): Answer {
  const account = simulator.getAccount(id);
  return account === undefined ? notFound(id) : ok({ id, account });
}

function pathWith(pattern: RegExp): PathMatcher {
  return (path) => {
    const encoded = pattern.exec(path)?.[1];
    if (encoded === undefined) return null;
    try {
      return [decodeURIComponent(encoded)];
    } catch {
      return null;
    }
  };
}

function ok(value: unknown): Answer {
  return json(200, value, { newline: true });
}

function notFound(id: string): Answer {
  return json(404, { error: `no account ${JSON.stringify(id)}` }, { newline: true });
}

/** The request's JSON body checked against `schema`, or the 400/413 answer that says what is wrong. */
async function parsedBody<T>(
  request: IncomingMessage,
  schema: z.ZodType<T>,
): Promise<{ value: T } | { error: Answer }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES)
      return { error: json(413, { error: `body over ${MAX_BODY_BYTES} bytes` }, { newline: true }) };
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return { error: json(400, { error: "the body must be JSON" }, { newline: true }) };
  }
  const result = schema.safeParse(body);
  if (result.success) return { value: result.data };
  const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`);
  return { error: json(400, { error: problems.join("; ") }, { newline: true }) };
}
