import { afterEach, describe, expect, it } from "vitest";
import { json, plainText, Router, send } from "../../src/lib/http/router.js";
import { startHttpServer } from "../../src/lib/http/server.js";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function serve(router: Router, onError?: (error: unknown) => void): Promise<string> {
  const { server, address } = await startHttpServer({
    router,
    port: 0,
    host: "127.0.0.1",
    notFound: plainText(404, "not found\n"),
    failed: json(500, { error: "failed" }),
    ...(onError ? { onError } : {}),
  });
  closers.push(() => server.close());
  closers.push(() => server.closeAllConnections());
  return `http://127.0.0.1:${address.port}`;
}

describe("json and plainText", () => {
  it("build answers with their content type, a JSON body ending in a newline only when asked", () => {
    expect(json(200, { a: 1 })).toEqual({
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: '{"a":1}',
    });
    expect(json(503, [], { headers: { "Content-Type": "application/json" }, newline: true })).toEqual({
      status: 503,
      headers: { "content-type": "application/json" },
      body: "[]\n",
    });
    expect(plainText(404, "no\n").headers).toEqual({ "content-type": "text/plain; charset=utf-8" });
  });
});

describe("Router", () => {
  it("sends an answer with the router's headers, its own winning whatever their case, and its length", async () => {
    const router = new Router({ headers: { "Cache-Control": "no-store", "X-Kept": "1" } })
      .on("/text", () => plainText(200, "héllo", { "cache-control": "max-age=5" }))
      .on("/empty", () => ({ status: 302, headers: { Location: "/text" } }));
    const base = await serve(router);
    const text = await fetch(`${base}/text?query=1`);
    expect(text.status).toBe(200);
    expect(text.headers.get("cache-control")).toBe("max-age=5");
    expect(text.headers.get("x-kept")).toBe("1");
    expect(text.headers.get("content-length")).toBe("6");
    expect(await text.text()).toBe("héllo");
    const empty = await fetch(`${base}/empty`, { redirect: "manual" });
    expect(empty.status).toBe(302);
    expect(empty.headers.get("location")).toBe("/text");
    expect(empty.headers.get("content-length")).toBeNull();
  });

  it("refuses other methods before looking at the path when the router has methods", async () => {
    const router = new Router({ methods: ["GET", "HEAD"] }).on("/here", () => plainText(200, "ok"));
    const base = await serve(router);
    for (const path of ["/here", "/elsewhere"]) {
      const response = await fetch(`${base}${path}`, { method: "POST" });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
    }
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
  });

  it("gives a route's matcher parameters to its handler, and checks the route's methods after its path", async () => {
    const router = new Router({ methodNotAllowed: json(405, { error: "method" }) }).on(
      (path) => (path.startsWith("/item/") ? [path.slice(6)] : null),
      (_request, _response, [id]) => json(200, { id }),
      ["GET"],
    );
    const base = await serve(router);
    expect(await (await fetch(`${base}/item/42`)).json()).toEqual({ id: "42" });
    const post = await fetch(`${base}/item/42`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
    expect(await post.json()).toEqual({ error: "method" });
    expect((await fetch(`${base}/other`, { method: "POST" })).status).toBe(404);
  });

  it("falls back to another router, which sends with its own headers", async () => {
    const page = new Router({ headers: { "x-page": "yes" } }).on("/page", () => plainText(200, "page"));
    const router = new Router({ headers: { "x-main": "yes" } }).fallBackTo(page);
    const base = await serve(router);
    const response = await fetch(`${base}/page`);
    expect(await response.text()).toBe("page");
    expect(response.headers.get("x-page")).toBe("yes");
    expect(response.headers.get("x-main")).toBeNull();
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-main")).toBe("yes");
  });

  it("answers `failed` when a handler throws, and leaves a response its handler wrote itself", async () => {
    const errors: unknown[] = [];
    const router = new Router()
      .on("/throws", () => {
        throw new Error("boom");
      })
      .on("/own", (_request, response) => {
        send(response, { status: 202, body: "mine" });
        return undefined;
      });
    const base = await serve(router, (error) => errors.push(error));
    const failed = await fetch(`${base}/throws`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: "failed" });
    expect(errors).toHaveLength(1);
    const own = await fetch(`${base}/own`);
    expect(own.status).toBe(202);
    expect(await own.text()).toBe("mine");
  });
});
