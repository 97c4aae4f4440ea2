import { getEventListeners } from "node:events";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, vi } from "vitest";
import { judgeRedirect, requestOnce, serverOf } from "../../src/plugchat/http-request.js";
import { createRateLimiter, type RateLimiter } from "../../src/plugchat/rate-limiter.js";

const requested = new URL("https://plugchat.example/integrator/account/a/");
const from = requested;

describe("judging a redirect", () => {
  it("is no redirect without a redirect status or a Location", () => {
    expect(judgeRedirect(200, "/x", from, requested, 0)).toBeNull();
    expect(judgeRedirect(500, "/x", from, requested, 0)).toBeNull();
    expect(judgeRedirect(302, undefined, from, requested, 0)).toBeNull();
  });

  it("follows a relative or same-origin location to the account's own path, with or without its trailing slash", () => {
    expect(judgeRedirect(307, "/integrator/account/a", from, requested, 0)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/a"),
    });
    expect(judgeRedirect(301, "https://plugchat.example/integrator/account/a/", from, requested, 2)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/a/"),
    });
    const noSlash = new URL("https://plugchat.example/integrator/account/a");
    expect(judgeRedirect(308, "a/", noSlash, requested, 1)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/a/"),
    });
  });

  it("refuses another account's path (or any other path) of the same origin, naming it", () => {
    expect(judgeRedirect(307, "/integrator/account/b/", from, requested, 0)).toEqual({
      refuse:
        'redirect to another path ("/integrator/account/b/") not followed: its answer is not this account\'s',
    });
    for (const location of [
      "/y",
      "../b/",
      "/integrator/account/a/b/",
      "/integrator/account/",
      "/integrator/account/a//",
    ]) {
      expect(judgeRedirect(302, location, from, requested, 0)).toHaveProperty("refuse");
    }
    // A long path is cut in the message.
    const long = judgeRedirect(302, `/${"x".repeat(5000)}`, from, requested, 0);
    expect(long).toHaveProperty("refuse");
    expect((long as { refuse: string }).refuse.length).toBeLessThan(200);
  });

  it("refuses another origin, naming both, so that the token stays home", () => {
    expect(judgeRedirect(302, "http://plugchat.example/integrator/account/a/", from, requested, 0)).toEqual({
      refuse:
        "redirect to http://plugchat.example not followed: the token must not leave https://plugchat.example",
    });
  });

  it("refuses an invalid location and a fourth redirect", () => {
    expect(judgeRedirect(302, "http://[bad", from, requested, 0)).toEqual({
      refuse: "redirect to an invalid URL",
    });
    expect(judgeRedirect(302, "/integrator/account/a/", from, requested, 3)).toEqual({
      refuse: "too many redirects",
    });
  });
});

/** A server whose every answer is the handler's, on loopback; closed with its connections. */
async function serve(handler: RequestListener): Promise<{ url: URL; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/integrator/account/a/`),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers 200 with half a body, then sends nothing more. */
const stallMidBody: RequestListener = (_request, response) => {
  response.writeHead(200, { "Content-Type": "application/json", "Content-Length": "100" });
  response.write('{"name": "ha');
};

/** One attempt at `url`'s path and query, on its server. */
const attemptAt = (
  url: URL,
  timeoutMs: number,
  { rateLimiter = createRateLimiter(0), signal }: { rateLimiter?: RateLimiter; signal?: AbortSignal } = {},
) =>
  requestOnce(
    `${url.pathname}${url.search}`,
    { server: serverOf(new URL(url.origin)), headers: {}, timeoutMs, rateLimiter },
    signal,
  );

describe("where an attempt goes", () => {
  it("reaches a server at an IPv6 literal, with the path and query asked for", async () => {
    const asked: string[] = [];
    const server = createServer((request, response) => {
      asked.push(request.url ?? "");
      response.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, "::1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const url = new URL(`http://[::1]:${port}/integrator/account/a%2Fb/?x=1`);
      const result = await attemptAt(url, 5_000);
      expect(result.type).toBe("body");
      expect(asked).toEqual(["/integrator/account/a%2Fb/?x=1"]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("one attempt's timeout and the caller's abort", () => {
  it("ends an answer whose body stalls past the timeout as TIMEOUT", async () => {
    const server = await serve(stallMidBody);
    try {
      const caller = new AbortController();
      const result = await attemptAt(server.url, 150, { signal: caller.signal });
      expect(result).toEqual({ type: "network", code: "TIMEOUT" });
      // Nothing of the attempt stays attached to the caller's signal, which lives for a whole run.
      expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it("ends an answer whose body is still coming as ABORTED when the caller aborts, at once", async () => {
    const server = await serve(stallMidBody);
    try {
      const caller = new AbortController();
      const pending = attemptAt(server.url, 60_000, { signal: caller.signal });
      // The head has come and the body is being read: the attempt's one listener is on the signal.
      await vi.waitFor(() => expect(getEventListeners(caller.signal, "abort")).toHaveLength(1));
      caller.abort(new Error("run cancelled"));
      expect(await pending).toEqual({ type: "network", code: "ABORTED" });
      expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it("ends an answer whose connection is cut mid-body as a network failure, long before its timeout", async () => {
    const server = await serve((request, response) => {
      stallMidBody(request, response);
      setTimeout(() => response.socket?.destroy(), 20);
    });
    try {
      const started = performance.now();
      const result = await attemptAt(server.url, 60_000);
      expect(result.type).toBe("network");
      expect(performance.now() - started).toBeLessThan(30_000);
    } finally {
      await server.close();
    }
  });

  it("sends nothing for a caller that has already aborted", async () => {
    let requests = 0;
    const server = await serve((_request, response) => {
      requests += 1;
      response.end("{}");
    });
    try {
      const caller = new AbortController();
      caller.abort(new Error("run cancelled"));
      expect(await attemptAt(server.url, 1_000, { signal: caller.signal })).toEqual({
        type: "network",
        code: "ABORTED",
      });
      expect(requests).toBe(0);
    } finally {
      await server.close();
    }
  });

  it("counts the rate limiter's wait before a redirect in the attempt's timeout", async () => {
    const server = await serve((_request, response) => {
      response.writeHead(307, { Location: "/integrator/account/a" });
      response.end();
    });
    try {
      // A limiter whose turn for the redirect never comes: only the attempt's timeout ends the wait.
      const neverAgain: RateLimiter = {
        acquire: (signal) =>
          new Promise((_resolve, reject) => {
            signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
          }),
      };
      const result = await attemptAt(server.url, 200, { rateLimiter: neverAgain });
      expect(result).toEqual({ type: "network", code: "TIMEOUT" });
    } finally {
      await server.close();
    }
  });
});
