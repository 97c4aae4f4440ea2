import { Writable } from "node:stream";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import {
  type AttemptInfo,
  createPlugchatClient,
  type PlugchatClientOptions,
  PlugchatError,
  PlugchatInvalidAccountIdError,
  PlugchatInvalidResponseError,
  PlugchatNotFoundError,
  PlugchatUnauthorizedError,
  PlugchatUnavailableError,
  type RateLimiter,
} from "../../src/plugchat/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { PACKAGE_VERSION } from "../../src/version.js";

const TOKEN = "tok_9f3c2e7a51d84b6e";
const ID = "acc-00001";
// Node timers may fire up to about a millisecond early when measured with performance.now().
const TIMER_SLACK_MS = 2;

let sim: Simulator;
const others: Simulator[] = [];

beforeEach(async () => {
  sim = await startSimulator({ token: TOKEN, accounts: 5 });
});

afterEach(async () => {
  await Promise.all([sim, ...others.splice(0)].map((s) => s.close()));
});

function client(overrides: Partial<PlugchatClientOptions> = {}) {
  return createPlugchatClient({
    baseUrl: sim.url,
    token: TOKEN,
    timeoutMs: 2000,
    maxAttempts: 3,
    maxRps: 0,
    minRetryDelayMs: 10,
    maxRetryDelayMs: 40,
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<PlugchatError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PlugchatError) return error;
    throw error;
  }
  throw new Error("expected getAccount to fail");
}

function gapsBetweenRequests(simulator: Simulator): number[] {
  const times = simulator.requests().map((r) => r.at);
  return times.slice(1).map((at, i) => at - (times[i] ?? at));
}

function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: "trace", pretty: false }, stream) };
}

describe("a successful read", () => {
  it("returns the validated account after one attempt", async () => {
    const fetched = await client().getAccount(ID);
    expect(fetched).toEqual({
      account: sim.getAccount(ID),
      unknownFields: [],
      extra: { values: {}, cut: [] },
      attempts: 1,
    });
  });

  it("sends the token, JSON headers and a User-Agent naming the project and its version", async () => {
    await client().getAccount(ID);
    const [request] = sim.requests();
    expect(request).toMatchObject({ method: "GET", path: `/integrator/account/${ID}/` });
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      accept: "application/json",
      "content-type": "application/json",
      "user-agent": `plugchat-sync/${PACKAGE_VERSION}`,
    });
  });

  it("keeps a path prefix and a trailing slash of the base URL", async () => {
    await client({ baseUrl: `${sim.url}/` }).getAccount(ID);
    expect(sim.requests()[0]?.path).toBe(`/integrator/account/${ID}/`);
  });

  it("accepts null webhooks and a null externalId", async () => {
    sim.setAccount(ID, { externalId: null, onReceiveMessage: null, onSendingMessage: null });
    const { account } = await client().getAccount(ID);
    expect(account).toMatchObject({ externalId: null, onReceiveMessage: null, onSendingMessage: null });
  });

  it("reports unknown fields by name and leaves them out of the account", async () => {
    sim.setFault({ type: "extraFields", fields: { sessionName: "main", plan: "pro" } });
    const fetched = await client().getAccount(ID);
    expect(fetched.unknownFields).toEqual(["sessionName", "plan"]);
    expect(fetched.account).toEqual(sim.getAccount(ID));
  });

  it("reads an id of 128 characters", async () => {
    const id = "x".repeat(128);
    sim.setAccount(id, { name: "Long id" });
    expect((await client().getAccount(id)).account.name).toBe("Long id");
  });
});

describe("statuses that are never retried", () => {
  it.each([
    [400, PlugchatInvalidResponseError, "invalid_response"],
    [401, PlugchatUnauthorizedError, "unauthorized"],
    [403, PlugchatUnauthorizedError, "unauthorized"],
    [404, PlugchatNotFoundError, "not_found"],
    [405, PlugchatInvalidResponseError, "invalid_response"],
    [415, PlugchatInvalidResponseError, "invalid_response"],
    [422, PlugchatInvalidResponseError, "invalid_response"],
  ])("HTTP %i fails with %o after exactly one request", async (status, type, kind) => {
    sim.setFault({ type: "status", status });
    const error = await failure(client({ maxAttempts: 5 }).getAccount(ID));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ kind, status, attempts: 1, accountId: ID });
    expect(sim.requestCount(ID)).toBe(1);
  });

  it("an unknown account is NotFound", async () => {
    sim.deleteAccount(ID);
    const error = await failure(client().getAccount(ID));
    expect(error).toBeInstanceOf(PlugchatNotFoundError);
    expect(error.message).toBe(`Plugchat has no account ${ID} (HTTP 404)`);
    expect(sim.requestCount(ID)).toBe(1);
  });

  it("a refused token is Unauthorized, with a message that says what to check", async () => {
    const error = await failure(client({ token: "wrong-token" }).getAccount(ID));
    expect(error).toBeInstanceOf(PlugchatUnauthorizedError);
    expect(error.message).toBe(
      `Plugchat refused the token (HTTP 401) for account ${ID}: check PLUGCHAT_TOKEN`,
    );
    expect(sim.requestCount(ID)).toBe(1);
  });
});

describe("transient failures", () => {
  it.each([500, 503, 408, 429])("HTTP %i is retried until the account is read", async (status) => {
    sim.setFault({ type: "status", status }, { times: 2 });
    const fetched = await client().getAccount(ID);
    expect(fetched.attempts).toBe(3);
    expect(fetched.account).toEqual(sim.getAccount(ID));
    expect(sim.requestCount(ID)).toBe(3);
  });

  it("a reset connection is retried", async () => {
    sim.setFault({ type: "reset" }, { times: 1 });
    expect((await client().getAccount(ID)).attempts).toBe(2);
    expect(sim.requestCount(ID)).toBe(2);
  });

  it("an attempt that hangs past timeoutMs is abandoned and retried", async () => {
    sim.setFault({ type: "hang" }, { times: 1 });
    expect((await client({ timeoutMs: 150 }).getAccount(ID)).attempts).toBe(2);
    expect(sim.requestCount(ID)).toBe(2);
  });

  it("a slow answer past timeoutMs is abandoned and retried", async () => {
    sim.setFault({ type: "latency", ms: 1000 }, { times: 1 });
    expect((await client({ timeoutMs: 150 }).getAccount(ID)).attempts).toBe(2);
  });

  it("stops after maxAttempts with Unavailable carrying the last status", async () => {
    sim.setFault({ type: "status", status: 502 }, { times: 1 });
    sim.setFault({ type: "status", status: 503 }, { times: 3 });
    const error = await failure(client({ maxAttempts: 3 }).getAccount(ID));
    expect(error).toBeInstanceOf(PlugchatUnavailableError);
    expect(error).toMatchObject({ kind: "unavailable", status: 503, code: null, attempts: 3 });
    expect(error.message).toBe(`Plugchat is unavailable for account ${ID}: HTTP 503 after 3 attempts`);
    expect(sim.requestCount(ID)).toBe(3);
  });

  it("stops after maxAttempts with Unavailable carrying the last network error code", async () => {
    sim.setFault({ type: "reset" });
    const error = await failure(client({ maxAttempts: 2 }).getAccount(ID));
    expect(error).toMatchObject({ kind: "unavailable", status: null, code: "ECONNRESET", attempts: 2 });
    expect(sim.requestCount(ID)).toBe(2);
  });

  it("reports repeated timeouts as TIMEOUT", async () => {
    sim.setFault({ type: "hang" });
    const error = await failure(client({ maxAttempts: 2, timeoutMs: 100 }).getAccount(ID));
    expect(error).toMatchObject({ kind: "unavailable", status: null, code: "TIMEOUT", attempts: 2 });
  });

  it("makes a single attempt when maxAttempts is 1", async () => {
    sim.setFault({ type: "status", status: 500 });
    const error = await failure(client({ maxAttempts: 1 }).getAccount(ID));
    expect(error).toMatchObject({ kind: "unavailable", attempts: 1 });
    expect(error.message).toContain("after 1 attempt");
    expect(sim.requestCount(ID)).toBe(1);
  });

  it("reports an unreachable server with its error code", async () => {
    const closed = await startSimulator({ token: TOKEN });
    await closed.close();
    const error = await failure(client({ baseUrl: closed.url, maxAttempts: 2 }).getAccount(ID));
    expect(error).toMatchObject({ kind: "unavailable", code: "ECONNREFUSED", attempts: 2 });
  });
});

describe("Retry-After", () => {
  it.each([429, 503])("waits at least the seconds HTTP %i asks for", async (status) => {
    sim.setFault({ type: "status", status, retryAfter: 1 }, { times: 1 });
    await client().getAccount(ID);
    expect(gapsBetweenRequests(sim)[0]).toBeGreaterThanOrEqual(1000 - TIMER_SLACK_MS);
  });

  it("waits until an HTTP date", async () => {
    const until = new Date(Date.now() + 2000);
    sim.setFault({ type: "status", status: 429, retryAfter: until }, { times: 1 });
    await client().getAccount(ID);
    // The header has whole seconds: the wait reaches the second `until` falls in.
    const expected = Math.floor(until.getTime() / 1000) * 1000 - Date.now();
    expect(gapsBetweenRequests(sim)[0]).toBeGreaterThanOrEqual(expected - TIMER_SLACK_MS);
  });

  it("waits no longer than retryAfterMaxMs", async () => {
    sim.setFault({ type: "status", status: 429, retryAfter: 3600 }, { times: 1 });
    const fetched = await client({ retryAfterMaxMs: 200 }).getAccount(ID);
    expect(fetched.attempts).toBe(2);
    const [gap] = gapsBetweenRequests(sim);
    expect(gap).toBeGreaterThanOrEqual(200 - TIMER_SLACK_MS);
    // Without the cap the retry would come an hour later.
    expect(gap).toBeLessThan(30_000);
  });
});

describe("invalid account ids", () => {
  it.each([
    ["../x", "../x"],
    ["a b", "a b"],
    ["empty", ""],
    ["129 characters", "x".repeat(129)],
    ["ação", "ação"],
    ["a/b", "a/b"],
    ["%2e%2e", "%2e%2e"],
  ])("%s is refused without a request", async (_label, id) => {
    const error = await failure(client().getAccount(id));
    expect(error).toBeInstanceOf(PlugchatInvalidAccountIdError);
    expect(error).toMatchObject({ kind: "invalid_account_id", attempts: 0, status: null });
    expect(sim.requestCount()).toBe(0);
  });
});

describe("invalid responses", () => {
  it("names a field of the wrong type, after one request", async () => {
    sim.setFault({ type: "wrongType", field: "active", value: "yes" });
    const error = await failure(client().getAccount(ID));
    expect(error).toBeInstanceOf(PlugchatInvalidResponseError);
    expect(error).toMatchObject({ kind: "invalid_response", status: 200, field: "active", attempts: 1 });
    expect(error.message).toBe(
      `Plugchat sent an invalid response for account ${ID}: field "active" must be boolean, got string`,
    );
    expect(sim.requestCount(ID)).toBe(1);
  });

  it("names a missing field", async () => {
    sim.setFault({ type: "missingField", field: "onMessageStatus" });
    const error = await failure(client().getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response", field: "onMessageStatus" });
    expect(error.message).toContain('field "onMessageStatus" is missing');
  });

  it("rejects malformed JSON", async () => {
    sim.setFault({ type: "malformedJson" });
    const error = await failure(client().getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response", field: null, attempts: 1 });
    expect(error.message).toContain("the body is not JSON");
  });

  it.each([
    ["streamed", false],
    ["with Content-Length", true],
  ])("rejects a body over 1 MiB sent %s", async (_label, declareLength) => {
    sim.setFault({ type: "oversized", bytes: 1024 * 1024 + 1, declareLength });
    const error = await failure(client().getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response", status: 200, attempts: 1 });
    expect(error.message).toContain("larger than 1 MiB");
  });

  it("stops reading a body that never ends", async () => {
    sim.setFault({ type: "oversized", bytes: Number.POSITIVE_INFINITY });
    // Reading it all would never finish: the attempt timeout would turn this into Unavailable.
    const error = await failure(client({ timeoutMs: 10_000, maxAttempts: 1 }).getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response" });
    expect(error.message).toContain("larger than 1 MiB");
  });

  it("accepts a body of exactly 1 MiB", async () => {
    sim.setFault({ type: "oversized", bytes: 1024 * 1024 });
    const fetched = await client().getAccount(ID);
    expect(fetched.unknownFields).toEqual(["padding"]);
  });
});

describe("redirects", () => {
  it("does not follow a redirect to another origin, and sends nothing there", async () => {
    const elsewhere = await startSimulator({ token: TOKEN, accounts: 5 });
    others.push(elsewhere);
    sim.setFault({ type: "redirect", location: `${elsewhere.url}/integrator/account/${ID}/` });
    const error = await failure(client().getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response", status: 302, attempts: 1 });
    expect(error.message).toContain(`redirect to ${elsewhere.url} not followed`);
    expect(elsewhere.requestCount()).toBe(0);
    expect(sim.requestCount(ID)).toBe(1);
  });

  it("follows a redirect to the account's own path without its trailing slash", async () => {
    sim.setFault({ type: "redirect", location: `/integrator/account/${ID}`, status: 308 }, { times: 1 });
    const fetched = await client().getAccount(ID);
    expect(fetched.account).toEqual(sim.getAccount(ID));
    expect(fetched.attempts).toBe(1);
    expect(sim.requests().map((r) => [r.path, r.headers.authorization])).toEqual([
      [`/integrator/account/${ID}/`, `Bearer ${TOKEN}`],
      [`/integrator/account/${ID}`, `Bearer ${TOKEN}`],
    ]);
  });

  it("does not follow a same-origin redirect to another account, whose data would be stored as this one's", async () => {
    sim.setFault({ type: "redirect", location: "/integrator/account/acc-00002/", status: 307 });
    const error = await failure(client().getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response", status: 307, attempts: 1 });
    expect(error.message).toBe(
      `Plugchat sent an invalid response for account ${ID}: redirect to another path ("/integrator/account/acc-00002/") not followed: its answer is not this account's`,
    );
    expect(sim.requestCount("acc-00002")).toBe(0);
  });

  it("gives up after three same-origin redirects", async () => {
    sim.setFault({ type: "redirect", location: `/integrator/account/${ID}/` });
    const error = await failure(client().getAccount(ID));
    expect(error).toMatchObject({ kind: "invalid_response", attempts: 1 });
    expect(error.message).toContain("too many redirects");
    expect(sim.requestCount(ID)).toBe(4);
  });
});

describe("rate cap", () => {
  /**
   * The k-th request (from 0) may not reach the simulator before k/maxRps after the calls began.
   * A lower bound only: a late request never fails it, so a busy machine cannot make it flaky.
   * For N requests it implies a span of at least (N-1)/maxRps from the first send.
   */
  function expectSpaced(startedAt: number, maxRps: number, count: number) {
    const arrivals = sim
      .requests()
      .map((r) => r.at - startedAt)
      .sort((a, b) => a - b);
    expect(arrivals).toHaveLength(count);
    arrivals.forEach((arrival, k) => {
      expect(arrival).toBeGreaterThanOrEqual((k * 1000) / maxRps - TIMER_SLACK_MS);
    });
  }

  it("spaces concurrent requests 1/maxRps apart, so N of them span at least (N-1)/maxRps", async () => {
    const ids = sim.listIds();
    const limited = client({ maxRps: 10 });
    const startedAt = performance.now();
    await Promise.all(ids.map((id) => limited.getAccount(id)));
    expectSpaced(startedAt, 10, ids.length);
  });

  it("counts retries against the cap", async () => {
    sim.setFault({ type: "status", status: 503 }, { times: 2 });
    const limited = client({ maxRps: 10, minRetryDelayMs: 1, maxRetryDelayMs: 1 });
    const startedAt = performance.now();
    await limited.getAccount(ID);
    expectSpaced(startedAt, 10, 3);
  });

  it("uses the given rateLimiter for every request instead of maxRps", async () => {
    let acquired = 0;
    const rateLimiter: RateLimiter = {
      acquire: async () => {
        acquired += 1;
      },
    };
    sim.setFault({ type: "status", status: 500 }, { times: 1 });
    sim.setFault({ type: "redirect", location: `/integrator/account/${ID}/` }, { times: 1 });
    await client({ rateLimiter, maxRps: 0.001 }).getAccount(ID);
    expect(sim.requestCount(ID)).toBe(3);
    expect(acquired).toBe(3);
  });
});

describe("observability", () => {
  it("logs one debug line per retry (an outage is said once, elsewhere) with the account, attempt, status or code and delay", async () => {
    const { lines, logger } = captureLogs();
    sim.setFault({ type: "reset" }, { times: 1 });
    sim.setFault({ type: "status", status: 503 }, { times: 1 });
    await client({ logger }).getAccount(ID);
    const entries = lines.map((line) => JSON.parse(line));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      level: "debug",
      msg: "plugchat request retry",
      accountId: ID,
      attempt: 1,
      status: 503,
    });
    expect(entries[1]).toMatchObject({ level: "debug", accountId: ID, attempt: 2, code: "ECONNRESET" });
    for (const entry of entries) expect(entry.delayMs).toBeGreaterThanOrEqual(10);
  });

  it("logs nothing for the attempt that ends the retries", async () => {
    const { lines, logger } = captureLogs();
    sim.setFault({ type: "status", status: 500 });
    await failure(client({ logger, maxAttempts: 2 }).getAccount(ID));
    expect(lines).toHaveLength(1);
  });

  it("calls onAttempt after every HTTP attempt", async () => {
    const infos: AttemptInfo[] = [];
    sim.setFault({ type: "reset" }, { times: 1 });
    sim.setFault({ type: "status", status: 500 }, { times: 1 });
    await client({ onAttempt: (info) => infos.push(info) }).getAccount(ID);
    expect(infos).toEqual([
      { accountId: ID, attempt: 1, status: 500, code: null, durationMs: expect.any(Number) },
      { accountId: ID, attempt: 2, status: null, code: "ECONNRESET", durationMs: expect.any(Number) },
      { accountId: ID, attempt: 3, status: 200, code: null, durationMs: expect.any(Number) },
    ]);
  });

  it("is not broken by an onAttempt hook that throws", async () => {
    const onAttempt = () => {
      throw new Error("metrics down");
    };
    expect((await client({ onAttempt }).getAccount(ID)).attempts).toBe(1);
  });
});

describe("cancellation", () => {
  it("rejects with the caller's reason and stops retrying when the signal aborts", async () => {
    sim.setFault({ type: "hang" });
    const controller = new AbortController();
    const reason = new Error("run cancelled");
    const pending = client({ timeoutMs: 10_000, maxAttempts: 5 }).getAccount(ID, {
      signal: controller.signal,
    });
    while (sim.requestCount(ID) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(sim.requestCount(ID)).toBe(1);
  });
});

describe("the token stays secret", () => {
  it("appears in no log line and in no error, however it is printed", async () => {
    const { lines, logger } = captureLogs();
    const elsewhere = await startSimulator({ token: TOKEN });
    others.push(elsewhere);
    const errors: unknown[] = [];
    const scenarios: Array<[() => void, string]> = [
      [() => sim.setFault({ type: "status", status: 401 }), ID],
      [() => sim.setFault({ type: "status", status: 503, retryAfter: 0 }), ID],
      [() => sim.setFault({ type: "reset" }), ID],
      [() => sim.setFault({ type: "hang" }), ID],
      [() => sim.setFault({ type: "wrongType", field: "name", value: 1 }), ID],
      [() => sim.setFault({ type: "redirect", location: `${elsewhere.url}/x` }), ID],
      [() => sim.setFault({ type: "status", status: 500 }), "not an id"],
      [() => {}, "acc-99999"],
    ];
    const tokenClient = client({ logger, maxAttempts: 2, timeoutMs: 100 });
    for (const [arrange, id] of scenarios) {
      sim.clearFaults();
      arrange();
      errors.push(await tokenClient.getAccount(id).catch((error: unknown) => error));
    }

    expect(errors.map((e) => (e as PlugchatError).kind)).toEqual([
      "unauthorized",
      "unavailable",
      "unavailable",
      "unavailable",
      "invalid_response",
      "invalid_response",
      "invalid_account_id",
      "not_found",
    ]);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(TOKEN);
    for (const error of errors) {
      const err = error as Error;
      for (const printed of [
        err.message,
        String(err),
        err.stack ?? "",
        JSON.stringify(err),
        inspect(err, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      ]) {
        expect(printed).not.toContain(TOKEN);
      }
    }
  });
  it("is not in the client object, however it is printed", () => {
    const printed = client();
    expect(inspect(printed, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(printed)).not.toContain(TOKEN);
  });
});

describe("options", () => {
  it.each([
    [{ token: "" }, "token is empty"],
    [{ baseUrl: "ftp://plugchat.example" }, "http(s) URL"],
    [{ baseUrl: "not a url" }, "http(s) URL"],
    [{ maxAttempts: 0 }, "maxAttempts"],
    [{ timeoutMs: 0 }, "timeoutMs"],
    [{ maxRps: -1 }, "maxRps"],
  ])("refuses %o", (overrides, message) => {
    expect(() => client(overrides)).toThrow(message);
  });
});
