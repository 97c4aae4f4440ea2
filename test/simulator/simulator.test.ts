import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  drawRandomFault,
  type Simulator,
  simulatedAccount,
  simulatedAccountId,
  startSimulator,
} from "../../src/simulator/index.js";

const TOKEN = "sim-test-token";
let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator({ token: TOKEN, accounts: 3 });
});

afterEach(async () => {
  await sim.close();
});

function get(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return fetch(`${sim.url}${path}`, {
    method: init.method ?? "GET",
    headers: init.headers ?? { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  });
}

describe("the simulator's API", () => {
  it("serves a generated account at the documented path", async () => {
    const response = await get("/integrator/account/acc-00002/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(simulatedAccount(2));
  });

  it("also serves the path without its trailing slash", async () => {
    expect((await get("/integrator/account/acc-00002")).status).toBe(200);
  });

  it("answers 404 to an unknown account and to other paths", async () => {
    expect((await get("/integrator/account/acc-09999/")).status).toBe(404);
    expect((await get("/integrator/accounts/")).status).toBe(404);
    expect((await get("/integrator/account/acc-00001/extra")).status).toBe(404);
  });

  it("answers 405 to methods other than GET", async () => {
    const response = await get("/integrator/account/acc-00001/", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
  });

  it.each([
    ["no Authorization header", { "content-type": "application/json" }],
    ["another token", { authorization: "Bearer other", "content-type": "application/json" }],
    ["a non-bearer scheme", { authorization: `Basic ${TOKEN}`, "content-type": "application/json" }],
  ])("answers 401 to %s", async (_label, headers) => {
    expect((await get("/integrator/account/acc-00001/", { headers })).status).toBe(401);
  });

  it("answers 415 when Content-Type is missing", async () => {
    const response = await get("/integrator/account/acc-00001/", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(415);
  });
});

describe("accounts", () => {
  it("generates the same N accounts on every start, acc-00001 first", async () => {
    const again = await startSimulator({ token: TOKEN, accounts: 3 });
    try {
      expect(sim.listIds()).toEqual(["acc-00001", "acc-00002", "acc-00003"]);
      expect(again.listIds().map((id) => again.getAccount(id))).toEqual(
        sim.listIds().map((id) => sim.getAccount(id)),
      );
    } finally {
      await again.close();
    }
  });

  it("serves the accounts it is given", async () => {
    const given = await startSimulator({ token: TOKEN, accounts: { mine: simulatedAccount(7) } });
    try {
      expect(given.listIds()).toEqual(["mine"]);
      expect(given.getAccount("mine")).toEqual(simulatedAccount(7));
    } finally {
      await given.close();
    }
  });

  it("updates an account field by field, creates, and deletes", async () => {
    sim.setAccount("acc-00001", { active: false });
    expect(sim.getAccount("acc-00001")).toEqual({ ...simulatedAccount(1), active: false });
    expect(await (await get("/integrator/account/acc-00001/")).json()).toMatchObject({ active: false });

    sim.setAccount("new_one", { name: "New" });
    expect(await (await get("/integrator/account/new_one/")).json()).toMatchObject({
      name: "New",
      active: true,
    });

    expect(sim.deleteAccount("acc-00001")).toBe(true);
    expect((await get("/integrator/account/acc-00001/")).status).toBe(404);
  });
});

describe("faults", () => {
  it("applies a fault with times to the first N requests only", async () => {
    sim.setFault({ type: "status", status: 503, retryAfter: 2 }, { times: 2 });
    const first = await get("/integrator/account/acc-00001/");
    const statuses = [first.status];
    for (let i = 0; i < 2; i++) statuses.push((await get("/integrator/account/acc-00001/")).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(first.headers.get("retry-after")).toBe("2");
  });

  it("limits a fault to one account when asked", async () => {
    sim.setFault({ type: "status", status: 500 }, { accountId: "acc-00002" });
    expect((await get("/integrator/account/acc-00001/")).status).toBe(200);
    expect((await get("/integrator/account/acc-00002/")).status).toBe(500);
  });

  it("lets the fault set last win, and forgets every fault on clearFaults", async () => {
    sim.setFault({ type: "status", status: 500 });
    sim.setFault({ type: "status", status: 502 }, { times: 1 });
    expect((await get("/integrator/account/acc-00001/")).status).toBe(502);
    expect((await get("/integrator/account/acc-00001/")).status).toBe(500);
    sim.clearFaults();
    expect((await get("/integrator/account/acc-00001/")).status).toBe(200);
  });

  it("sends a Retry-After date as an HTTP date", async () => {
    const at = new Date("2030-05-01T12:00:00Z");
    sim.setFault({ type: "status", status: 429, retryAfter: at });
    expect((await get("/integrator/account/acc-00001/")).headers.get("retry-after")).toBe(at.toUTCString());
  });

  it("shapes bodies: wrong type, missing and extra fields, malformed JSON", async () => {
    const body = async () => (await get("/integrator/account/acc-00001/")).text();
    sim.setFault({ type: "wrongType", field: "active", value: "yes" }, { times: 1 });
    expect(JSON.parse(await body())).toMatchObject({ active: "yes" });
    sim.setFault({ type: "missingField", field: "name" }, { times: 1 });
    expect(JSON.parse(await body())).not.toHaveProperty("name");
    sim.setFault({ type: "extraFields", fields: { plan: "pro" } }, { times: 1 });
    expect(JSON.parse(await body())).toMatchObject({ plan: "pro", name: simulatedAccount(1).name });
    sim.setFault({ type: "malformedJson" }, { times: 1 });
    const malformed = await body();
    expect(() => JSON.parse(malformed)).toThrow(SyntaxError);
  });

  it("pads an oversized body to the requested size", async () => {
    sim.setFault({ type: "oversized", bytes: 2_000_000 }, { times: 1 });
    const body = await (await get("/integrator/account/acc-00001/")).arrayBuffer();
    expect(body.byteLength).toBe(2_000_000);
  });

  it("resets the connection", async () => {
    sim.setFault({ type: "reset" });
    await expect(get("/integrator/account/acc-00001/")).rejects.toMatchObject({
      cause: { code: "ECONNRESET" },
    });
  });

  it("redirects to the given location", async () => {
    sim.setFault({ type: "redirect", location: "https://elsewhere.example/x", status: 301 });
    const response = await fetch(`${sim.url}/integrator/account/acc-00001/`, {
      redirect: "manual",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    expect(response.status).toBe(301);
    expect(response.headers.get("location")).toBe("https://elsewhere.example/x");
  });

  it("adds latency before answering", async () => {
    sim.setFault({ type: "latency", ms: 100 });
    const started = performance.now();
    expect((await get("/integrator/account/acc-00001/")).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(98);
  });

  it("holds many requests in latency at once without a listener-leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      sim.setFault({ type: "latency", ms: 50 });
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => get("/integrator/account/acc-00001/")),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
      // Node emits process warnings on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });
});

describe("a raw body", () => {
  it("is sent byte for byte with status 200, whether the account exists or not", async () => {
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    sim.setFault({ type: "body", body: bytes }, { accountId: "acc-00001" });
    const response = await get("/integrator/account/acc-00001/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
    sim.setFault({ type: "body", body: '{"name":"\\ud800"', status: 202, contentType: "text/plain" });
    const text = await get("/integrator/account/acc-09999/");
    expect(text.status).toBe(202);
    expect(text.headers.get("content-type")).toBe("text/plain");
    expect(await text.text()).toBe('{"name":"\\ud800"');
  });
});

describe("random faults", () => {
  const faults = [
    { type: "status", status: 500 },
    { type: "status", status: 503 },
  ] as const;

  it("hits about `rate` of the requests, and none when the rate is 0", () => {
    let hits = 0;
    for (let index = 1; index <= 2_000; index++) {
      for (let n = 1; n <= 5; n++) {
        if (drawRandomFault({ rate: 0.3, faults, seed: 7 }, simulatedAccountId(index), n)) hits += 1;
      }
    }
    // 10,000 draws: the share is within 0.3 ± 0.02 with a margin of more than 4 standard deviations.
    expect(hits / 10_000).toBeGreaterThan(0.28);
    expect(hits / 10_000).toBeLessThan(0.32);
    expect(drawRandomFault({ rate: 0, faults, seed: 7 }, "acc-00001", 1)).toBeUndefined();
    expect(drawRandomFault({ rate: 1, faults, seed: 7 }, "acc-00001", 1)).toBeDefined();
  });

  it("draws the same faults from the same seed, other faults from another seed", () => {
    const draws = (seed: number) =>
      Array.from({ length: 200 }, (_, i) => drawRandomFault({ rate: 0.5, faults, seed }, "acc-00001", i + 1));
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
    const statuses = new Set(draws(42).map((fault) => (fault?.type === "status" ? fault.status : null)));
    expect(statuses).toEqual(new Set([null, 500, 503]));
  });

  it("gives each account its own sequence, whatever order the requests arrive in", async () => {
    const statuses = async (order: string[]) => {
      sim.setRandomFaults({ rate: 0.5, faults, seed: 11 });
      const seen: Record<string, number[]> = {};
      for (const id of order) {
        const status = (await get(`/integrator/account/${id}/`)).status;
        seen[id] = [...(seen[id] ?? []), status];
      }
      return seen;
    };
    const ids = ["acc-00001", "acc-00002", "acc-00003"];
    const interleaved = await statuses([...ids, ...ids, ...ids, ...ids]);
    const grouped = await statuses(ids.flatMap((id) => [id, id, id, id]));
    expect(grouped).toEqual(interleaved);
    expect(Object.values(interleaved).flat()).toContain(200);
  });

  it("leaves other accounts alone when limited to some, and yields to faults set with setFault", async () => {
    sim.setRandomFaults({ rate: 1, faults, seed: 1, accountIds: ["acc-00002"] });
    expect((await get("/integrator/account/acc-00001/")).status).toBe(200);
    expect([500, 503]).toContain((await get("/integrator/account/acc-00002/")).status);
    sim.setFault({ type: "status", status: 418 }, { accountId: "acc-00002", times: 1 });
    expect((await get("/integrator/account/acc-00002/")).status).toBe(418);
    sim.setRandomFaults(undefined);
    expect((await get("/integrator/account/acc-00002/")).status).toBe(200);
  });

  it("stops on clearFaults, and refuses a rate outside 0..1 or an empty list of faults", async () => {
    sim.setRandomFaults({ rate: 1, faults, seed: 1 });
    sim.clearFaults();
    expect((await get("/integrator/account/acc-00001/")).status).toBe(200);
    expect(() => sim.setRandomFaults({ rate: 1.5, faults, seed: 1 })).toThrow(RangeError);
    expect(() => sim.setRandomFaults({ rate: 0.5, faults: [], seed: 1 })).toThrow(RangeError);
  });
});

describe("stats", () => {
  it("counts the faults it injected, by type, and marks each request with its fault", async () => {
    sim.setFault({ type: "status", status: 500 }, { times: 2 });
    sim.setFault({ type: "latency", ms: 1 }, { times: 1 });
    for (let i = 0; i < 4; i++) await get("/integrator/account/acc-00001/");
    await get("/integrator/account/acc-00001/", { headers: {} }); // refused before any fault
    expect(sim.faultsInjected()).toEqual({ total: 3, byType: { status: 2, latency: 1 } });
    expect(sim.requests().map((request) => request.fault?.type ?? null)).toEqual([
      "latency",
      "status",
      "status",
      null,
      null,
    ]);
    sim.resetStats();
    expect(sim.faultsInjected()).toEqual({ total: 0, byType: {} });
  });

  it("counts requests per account and in all, and records what was sent", async () => {
    await get("/integrator/account/acc-00001/");
    await get("/integrator/account/acc-00001/", { method: "DELETE" });
    await get("/integrator/account/acc-00002/");
    await get("/elsewhere");
    expect(sim.requestCount("acc-00001")).toBe(2);
    expect(sim.requestCount("acc-00002")).toBe(1);
    expect(sim.requestCount("acc-00003")).toBe(0);
    expect(sim.requestCount()).toBe(4);
    const [first, second] = sim.requests();
    expect(first).toMatchObject({
      accountId: "acc-00001",
      method: "GET",
      path: "/integrator/account/acc-00001/",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    });
    expect(second?.method).toBe("DELETE");
    expect(second?.at).toBeGreaterThanOrEqual(first?.at ?? Number.POSITIVE_INFINITY);
    expect(sim.requests()[3]).toMatchObject({ accountId: null, path: "/elsewhere" });
  });

  it("forgets counts and records on resetStats", async () => {
    await get("/integrator/account/acc-00001/");
    sim.resetStats();
    expect(sim.requestCount()).toBe(0);
    expect(sim.requestCount("acc-00001")).toBe(0);
    expect(sim.requests()).toEqual([]);
  });

  it("keeps counts but no records when recordRequests is off", async () => {
    const quiet = await startSimulator({ token: TOKEN, accounts: 1, recordRequests: false });
    try {
      await fetch(`${quiet.url}/integrator/account/acc-00001/`);
      expect(quiet.requestCount("acc-00001")).toBe(1);
      expect(quiet.requests()).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});

describe("close", () => {
  it("drops hanging and keep-alive connections and stops listening", async () => {
    await get("/integrator/account/acc-00001/"); // leaves a keep-alive connection open
    sim.setFault({ type: "hang" });
    const hanging = get("/integrator/account/acc-00001/");
    while (sim.requestCount() < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await sim.close();
    await expect(hanging).rejects.toThrow();
    await expect(get("/integrator/account/acc-00001/")).rejects.toMatchObject({
      cause: { code: "ECONNREFUSED" },
    });
  });
});
