// The one router of the project's HTTP servers (the Plugchat simulator, the worker's health and
// metrics endpoint, the status page): routes by exact path or by a path matcher, checks the method,
// and writes every answer through `send`.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

/** A whole answer. Without a body nothing is sent after the headers, and no length is declared. */
export interface Answer {
  status: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Uint8Array;
}

/** Writes `answer`. Header names count without regard to case; `answer.headers` win over `defaults`. */
export function send(response: ServerResponse, answer: Answer, defaults: OutgoingHttpHeaders = {}): void {
  const headers = lowercased(defaults);
  if (answer.body === undefined) {
    response.writeHead(answer.status, { ...headers, ...lowercased(answer.headers) }).end();
    return;
  }
  const bytes = typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : answer.body;
  // An answer may declare a length of its own: the simulator's faults send wrong ones on purpose.
  headers["content-length"] = bytes.byteLength;
  response.writeHead(answer.status, { ...headers, ...lowercased(answer.headers) }).end(bytes);
}

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * `value` as a JSON answer, of type `application/json; charset=utf-8` unless `headers` say another.
 * `newline` ends the body with one, for people who read it with curl.
 */
export function json(
  status: number,
  value: unknown,
  options: { headers?: OutgoingHttpHeaders; newline?: boolean } = {},
): Answer {
  return {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, ...lowercased(options.headers) },
    body: options.newline ? `${JSON.stringify(value)}\n` : JSON.stringify(value),
  };
}

/** A plain-text answer. */
export function plainText(status: number, body: string, headers: OutgoingHttpHeaders = {}): Answer {
  return { status, headers: { "content-type": "text/plain; charset=utf-8", ...lowercased(headers) }, body };
}

/**
 * Answers one request: an `Answer` to send, or undefined when the handler wrote the response itself
 * (a stream, a reset connection, or nothing at all).
 */
export type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  params: readonly string[],
) => Answer | undefined | Promise<Answer | undefined>;

/** The path parameters of a matching path, or null when the path is not the route's. */
export type PathMatcher = (path: string) => readonly string[] | null;

interface Route {
  path: string | PathMatcher;
  methods: readonly string[] | undefined;
  handler: Handler;
}

export interface RouterOptions {
  /** Headers of every answer this router sends; an answer's own headers win. */
  headers?: OutgoingHttpHeaders;
  /** The only methods this router answers: any other gets `methodNotAllowed`, whatever the path. */
  methods?: readonly string[];
  /** The answer to a method that is not allowed; the router adds the Allow header. */
  methodNotAllowed?: Answer;
}

export class Router {
  readonly #routes: Route[] = [];
  readonly #fallbacks: Router[] = [];
  readonly #options: RouterOptions;

  constructor(options: RouterOptions = {}) {
    this.#options = options;
  }

  /** Routes `path` (exact, or a matcher) to `handler`; with `methods`, other methods get a 405. */
  on(path: string | PathMatcher, handler: Handler, methods?: readonly string[]): this {
    this.#routes.push({ path, methods, handler });
    return this;
  }

  /** Requests that none of this router's routes match go to `router`. */
  fallBackTo(router: Router): this {
    this.#fallbacks.push(router);
    return this;
  }

  /** Sends `answer` with this router's headers. */
  send(response: ServerResponse, answer: Answer): void {
    send(response, answer, this.#options.headers);
  }

  /** Answers the request and resolves true, or resolves false when no route has its path. */
  async route(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const method = request.method ?? "GET";
    if (this.#options.methods !== undefined && !this.#options.methods.includes(method)) {
      this.#refuseMethod(response, this.#options.methods);
      return true;
    }
    const path = pathOf(request);
    for (const route of this.#routes) {
      const params = typeof route.path === "string" ? (route.path === path ? [] : null) : route.path(path);
      if (params === null) continue;
      if (route.methods !== undefined && !route.methods.includes(method)) {
        this.#refuseMethod(response, route.methods);
        return true;
      }
      const answer = await route.handler(request, response, params);
      if (answer !== undefined) this.send(response, answer);
      return true;
    }
    for (const router of this.#fallbacks) {
      if (await router.route(request, response)) return true;
    }
    return false;
  }

  #refuseMethod(response: ServerResponse, allowed: readonly string[]): void {
    const answer = this.#options.methodNotAllowed ?? plainText(405, "method not allowed\n");
    this.send(response, { ...answer, headers: { ...answer.headers, allow: allowed.join(", ") } });
  }
}

/** The request's path, without its query. */
export function pathOf(request: IncomingMessage): string {
  return new URL(request.url ?? "/", "http://localhost").pathname;
}

function lowercased(headers: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
