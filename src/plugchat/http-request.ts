// One HTTP attempt at an account: a GET under its own timeout, redirects to its own path followed, the
// body read up to a cap. It says how the attempt ended; judging that is attempt-verdict.ts's job.
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { request as httpsRequest } from "node:https";
import { quoted } from "../lib/text.js";
import { readBodyUpTo } from "./body.js";
import type { RateLimiter } from "./rate-limiter.js";

const MAX_BODY_BYTES = 1024 * 1024;
/** An error body is read (so that its keep-alive connection is reused) only when it says it is this small. */
const MAX_DISCARDED_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** How one attempt ended, before it is judged. */
export type AttemptResult =
  | { type: "body"; status: number; body: Uint8Array }
  | { type: "status"; status: number; retryAfter: string | null }
  | { type: "network"; code: string }
  | { type: "refused"; status: number; problem: string };

export interface RequestSettings {
  /** Where every request goes (`serverOf`); a redirect is followed only to the same origin. */
  server: Server;
  /** Sent with every request, redirects included; they hold the token. */
  headers: Readonly<Record<string, string>>;
  /** Limit of the whole attempt: redirects, their rate limiter waits and the body included. */
  timeoutMs: number;
  /** Asked before following each redirect; the permission for the first request is the caller's to get. */
  rateLimiter: RateLimiter;
}

/** Plugchat's origin, read from its URL once rather than for each request. */
export interface Server {
  origin: URL;
  protocol: string;
  /** Without the brackets of an IPv6 literal, as node:http wants it. */
  hostname: string;
  port: string;
}

export function serverOf(origin: URL): Server {
  const { protocol, hostname, port } = origin;
  // An IPv6 literal comes bracketed in a URL, and without its brackets in an option.
  return { origin, protocol, hostname: hostname.startsWith("[") ? hostname.slice(1, -1) : hostname, port };
}

/** The request or its response failed on the network (reset, refused, aborted...): never a bug of ours. */
class NetworkFailure extends Error {
  constructor(readonly code: string) {
    super(`network failure ${code}`);
  }
}

/**
 * Sends one attempt at `path` (with its query, if any) on the settings' server, following redirects to
 * the account's own path only, and reads a successful body. A network failure, a timeout (`TIMEOUT`)
 * or the caller's abort (`ABORTED`) resolve as a "network" result; only a bug, or a rate limiter that
 * fails, rejects.
 */
export async function requestOnce(
  path: string,
  settings: RequestSettings,
  callerSignal?: AbortSignal,
): Promise<AttemptResult> {
  if (callerSignal?.aborted) return { type: "network", code: "ABORTED" };
  // One timer and at most one listener per attempt, no AbortController: at thousands of requests a
  // second, signals and their listeners were a measurable share of the client's CPU. A timeout or an
  // abort destroys the request in flight, whatever it is doing (head, redirect or body).
  const attempt = new AttemptInFlight();
  const timer = setTimeout(() => attempt.stop("TIMEOUT"), settings.timeoutMs);
  const onCallerAbort = () => attempt.stop("ABORTED");
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  try {
    // The redirect loop is written here rather than in a function of its own: a request in flight
    // holds every suspended async function above it (docs/benchmarks.md, "The worker's state in
    // flight").
    let target = path;
    for (let redirects = 0; ; redirects++) {
      // node:http does not follow redirects: a redirect to any host would carry our headers.
      const response = await send(settings.server, target, settings.headers, attempt);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        const body = await readBodyUpTo(response, MAX_BODY_BYTES).catch(asNetworkFailure);
        if (body === null) return { type: "refused", status, problem: "the body is larger than 1 MiB" };
        return { type: "body", status, body };
      }
      discard(response);
      // URLs are made only for a redirect: most answers are not one.
      const redirect = REDIRECT_STATUSES.has(status)
        ? judgeRedirect(
            status,
            response.headers.location,
            new URL(target, settings.server.origin),
            new URL(path, settings.server.origin),
            redirects,
          )
        : null;
      if (redirect === null)
        return { type: "status", status, retryAfter: headerValue(response, "retry-after") };
      if ("refuse" in redirect) return { type: "refused", status, problem: redirect.refuse };
      await settings.rateLimiter.acquire(attempt.signal());
      target = `${redirect.follow.pathname}${redirect.follow.search}`;
    }
  } catch (error) {
    if (attempt.stoppedBy !== undefined) return { type: "network", code: attempt.stoppedBy };
    if (error instanceof NetworkFailure) return { type: "network", code: error.code };
    // Anything else is a bug and must not be retried.
    throw error;
  } finally {
    clearTimeout(timer);
    callerSignal?.removeEventListener("abort", onCallerAbort);
    attempt.end();
  }
}

/** The request an attempt has in flight, and what stopped the attempt (its timeout, the caller's abort). */
class AttemptInFlight {
  stoppedBy: "TIMEOUT" | "ABORTED" | undefined;
  #request: ClientRequest | undefined;
  // Made only if a redirect has to wait for the rate limiter, which takes a signal: rare.
  #controller: AbortController | undefined;

  /** The request now in flight: stopped at once if the attempt already was. */
  carry(request: ClientRequest): void {
    this.#request = request;
    if (this.stoppedBy !== undefined) request.destroy(new NetworkFailure(this.stoppedBy));
  }

  stop(reason: "TIMEOUT" | "ABORTED"): void {
    this.stoppedBy ??= reason;
    this.#request?.destroy(new NetworkFailure(reason));
    this.#controller?.abort(new NetworkFailure(reason));
  }

  /** A signal that aborts when the attempt is stopped, for the rate limiter's wait before a redirect. */
  signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.stoppedBy !== undefined) this.#controller.abort(new NetworkFailure(this.stoppedBy));
    return this.#controller.signal;
  }

  end(): void {
    this.#request = undefined;
  }
}

/**
 * Whether an answer is a redirect to follow (`follow`), one to refuse (`refuse`, why), or no redirect
 * at all (null). Only the origin the token was meant for may be redirected to, and there only the
 * account's own path (with or without its trailing slash): what answers another path would be stored
 * as this account's data.
 */
export function judgeRedirect(
  status: number,
  location: string | undefined,
  from: URL,
  requested: URL,
  redirectsSoFar: number,
): { follow: URL } | { refuse: string } | null {
  if (!REDIRECT_STATUSES.has(status) || location === undefined) return null;
  if (!URL.canParse(location, from.href)) return { refuse: "redirect to an invalid URL" };
  const next = new URL(location, from);
  if (next.origin !== requested.origin) {
    return {
      refuse: `redirect to ${next.origin} not followed: the token must not leave ${requested.origin}`,
    };
  }
  if (withoutTrailingSlash(next.pathname) !== withoutTrailingSlash(requested.pathname)) {
    return {
      refuse: `redirect to another path (${quoted(next.pathname)}) not followed: its answer is not this account's`,
    };
  }
  if (redirectsSoFar === MAX_REDIRECTS) return { refuse: "too many redirects" };
  return { follow: next };
}

function withoutTrailingSlash(path: string): string {
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * One GET, resolved with the response once its head has come. Why node:http and not fetch: fetch
 * (undici, with its web streams, Request, Response and Headers objects) allocated several times more
 * per request, which at thousands of requests a second grew the V8 heap, and the sync's peak RSS,
 * by about 90 MB, and cost CPU (docs/benchmarks.md). Node's global agent keeps connections alive
 * between requests, and lets them go before the server's announced keep-alive timeout.
 */
function send(
  server: Server,
  path: string,
  headers: Readonly<Record<string, string>>,
  attempt: AttemptInFlight,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (server.protocol === "https:" ? httpsRequest : httpRequest)(
      requestOptions(server, path, headers),
      resolve,
    );
    // `on`, not `once`: the socket can fail again after the response came (a reset mid-body).
    request.on("error", (error) => reject(new NetworkFailure(networkCode(error))));
    attempt.carry(request);
    request.end();
  });
}

/**
 * The request's options, written out: given a URL, node:http converts it into such an object and
 * merges it with the options, an allocation per request that the agent then copies again.
 */
function requestOptions(
  server: Server,
  path: string,
  headers: Readonly<Record<string, string>>,
): RequestOptions {
  return {
    protocol: server.protocol,
    hostname: server.hostname,
    port: server.port,
    path,
    method: "GET",
    headers,
  };
}

/** A body that stopped short (reset, closed) failed on the network. */
function asNetworkFailure(error: unknown): never {
  throw new NetworkFailure(networkCode(error));
}

function networkCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "NETWORK_ERROR";
}

/** Lets go of an answer whose body is not wanted: drained when small (the connection is reused), else cut. */
function discard(response: IncomingMessage): void {
  response.on("error", () => undefined);
  const length = Number(response.headers["content-length"]);
  if (length <= MAX_DISCARDED_BODY_BYTES) response.resume();
  else response.destroy();
}

function headerValue(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name];
  return (Array.isArray(value) ? value.join(", ") : value) ?? null;
}
