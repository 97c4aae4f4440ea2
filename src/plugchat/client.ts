import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import pRetry, { AbortError } from "p-retry";
import { sleep } from "../lib/sleep.js";
import { type Logger, silentLogger } from "../logger.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../version.js";
import { assertValidAccountId } from "./account-id.js";
import { readBodyUpTo } from "./body.js";
import {
  type PlugchatError,
  PlugchatInvalidResponseError,
  PlugchatNotFoundError,
  PlugchatUnauthorizedError,
  PlugchatUnavailableError,
} from "./errors.js";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { type PlugchatAccount, parseAccountBody } from "./response.js";
import { DEFAULT_RETRY_POLICY, decideRetry, type RetryPolicy } from "./retry-policy.js";

const MAX_BODY_BYTES = 1024 * 1024;
/** An error body is read (so that its keep-alive connection is reused) only when it says it is this small. */
const MAX_DISCARDED_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface FetchedAccount {
  account: PlugchatAccount;
  /** Fields Plugchat sent that the client does not know: a hint that the API has grown. */
  unknownFields: string[];
  attempts: number;
}

export interface AttemptInfo {
  accountId: string;
  attempt: number;
  /** HTTP status of the answer, or null when none came (network error, timeout). */
  status: number | null;
  /** Network error code (`ECONNRESET`, `TIMEOUT`, `ABORTED`...), or null when an answer came. */
  code: string | null;
  durationMs: number;
}

export interface PlugchatClientOptions {
  baseUrl: string;
  token: string;
  /** Limit of one attempt, redirects and body included. */
  timeoutMs: number;
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  /** Requests per second for the whole process; 0 = no cap. Ignored when `rateLimiter` is given. */
  maxRps: number;
  retryAfterMaxMs?: number;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  rateLimiter?: RateLimiter;
  logger?: Logger;
  /** Called after every HTTP attempt, e.g. to feed metrics. */
  onAttempt?: (info: AttemptInfo) => void;
}

export interface PlugchatClient {
  /**
   * Reads one account. Rejects with a `PlugchatError`, or with `signal.reason` when the caller aborts.
   */
  getAccount(accountId: string, options?: { signal?: AbortSignal }): Promise<FetchedAccount>;
}

/** How one attempt ended, before it is judged. */
type AttemptResult =
  | { type: "body"; status: number; body: Uint8Array }
  | { type: "status"; status: number; retryAfter: string | null }
  | { type: "network"; code: string }
  | { type: "refused"; status: number; problem: string };

/** The request or its response failed on the network (reset, refused, aborted...): never a bug of ours. */
class NetworkFailure extends Error {
  constructor(readonly code: string) {
    super(`network failure ${code}`);
  }
}

/** An attempt the retry policy wants retried: the only error that goes round p-retry's loop. */
class RetryableAttempt extends Error {
  constructor(
    readonly attempt: number,
    readonly status: number | null,
    readonly code: string | null,
    readonly delayMs: number,
  ) {
    super("retryable Plugchat attempt");
  }
}

export function createPlugchatClient(options: PlugchatClientOptions): PlugchatClient {
  checkOptions(options);
  const baseUrl = new URL(options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`);
  // The token lives only in this closure: errors and log lines are built without it.
  const headers = {
    Authorization: `Bearer ${options.token}`,
    Accept: "application/json",
    // Plugchat answers 415 to a GET without it, body or not.
    "Content-Type": "application/json",
    "User-Agent": `${PACKAGE_NAME}/${PACKAGE_VERSION}`,
  };
  const rateLimiter = options.rateLimiter ?? createRateLimiter(options.maxRps);
  const policy: RetryPolicy = {
    minRetryDelayMs: options.minRetryDelayMs ?? DEFAULT_RETRY_POLICY.minRetryDelayMs,
    maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_RETRY_POLICY.maxRetryDelayMs,
    retryAfterMaxMs: options.retryAfterMaxMs ?? DEFAULT_RETRY_POLICY.retryAfterMaxMs,
  };
  const logger = options.logger ?? silentLogger;

  async function getAccount(accountId: string, { signal }: { signal?: AbortSignal } = {}) {
    assertValidAccountId(accountId);
    const url = new URL(`integrator/account/${encodeURIComponent(accountId)}/`, baseUrl);
    try {
      return await pRetry(
        async (attempt) => judge(await attemptOnce(url, accountId, attempt, signal), accountId, attempt),
        {
          retries: options.maxAttempts - 1,
          // The policy chooses each delay (Retry-After, jitter); it is slept in onFailedAttempt.
          minTimeout: 0,
          signal,
          shouldRetry: ({ error }) => error instanceof RetryableAttempt,
          onFailedAttempt: async ({ error, retriesLeft }) => {
            if (!(error instanceof RetryableAttempt) || retriesLeft === 0) return;
            const { attempt, status, code, delayMs } = error;
            logger.warn(
              { accountId, attempt, ...(code === null ? { status } : { code }), delayMs },
              "plugchat request retry",
            );
            await sleep(delayMs, signal);
          },
        },
      );
    } catch (error) {
      if (!(error instanceof RetryableAttempt)) throw error;
      throw new PlugchatUnavailableError({
        accountId,
        status: error.status,
        code: error.code,
        attempts: error.attempt,
      });
    }
  }

  /** One attempt: waits for the rate limiter, then sends under its own timeout. */
  async function attemptOnce(url: URL, accountId: string, attempt: number, callerSignal?: AbortSignal) {
    await rateLimiter.acquire(callerSignal);
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new Error("Plugchat attempt timed out")),
      options.timeoutMs,
    );
    const forwardAbort = () => deadline.abort(callerSignal?.reason);
    callerSignal?.addEventListener("abort", forwardAbort, { once: true });
    let result: AttemptResult;
    try {
      result = await exchange(url, deadline.signal);
    } catch (error) {
      // Network failures come as NetworkFailure; anything else is a bug and must not be retried.
      if (!(error instanceof NetworkFailure) && !deadline.signal.aborted) throw error;
      let code = error instanceof NetworkFailure ? error.code : "NETWORK_ERROR";
      if (deadline.signal.aborted) code = callerSignal?.aborted ? "ABORTED" : "TIMEOUT";
      result = { type: "network", code };
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", forwardAbort);
    }
    report({
      accountId,
      attempt,
      status: result.type === "network" ? null : result.status,
      code: result.type === "network" ? result.code : null,
      durationMs: performance.now() - started,
    });
    if (callerSignal?.aborted) throw callerSignal.reason;
    return result;
  }

  /** Sends the request, following same-origin redirects only, and reads a successful body. */
  async function exchange(url: URL, signal: AbortSignal): Promise<AttemptResult> {
    let target = url;
    for (let redirects = 0; ; redirects++) {
      // node:http does not follow redirects: a redirect to any host would carry our headers.
      const response = await send(target, signal);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        const body = await readBodyUpTo(response, MAX_BODY_BYTES).catch((error: unknown) => {
          throw new NetworkFailure(networkCode(error));
        });
        if (body === null) return { type: "refused", status, problem: "the body is larger than 1 MiB" };
        return { type: "body", status, body };
      }
      discard(response);
      const location = REDIRECT_STATUSES.has(status) ? (response.headers.location ?? null) : null;
      if (location === null) {
        return { type: "status", status, retryAfter: headerValue(response, "retry-after") };
      }
      if (!URL.canParse(location, target.href)) {
        return { type: "refused", status, problem: "redirect to an invalid URL" };
      }
      const next = new URL(location, target);
      if (next.origin !== url.origin) {
        return {
          type: "refused",
          status,
          problem: `redirect to ${next.origin} not followed: the token must not leave ${url.origin}`,
        };
      }
      if (redirects === MAX_REDIRECTS) return { type: "refused", status, problem: "too many redirects" };
      await rateLimiter.acquire(signal);
      target = next;
    }
  }

  /**
   * One GET, resolved with the response once its head has come. Why node:http and not fetch: fetch
   * (undici, with its web streams, Request, Response and Headers objects) allocated several times more
   * per request, which at thousands of requests a second grew the V8 heap, and the sync's peak RSS,
   * by about 90 MB, and cost CPU (docs/benchmarks.md). Node's global agent keeps connections alive
   * between requests, and lets them go before the server's announced keep-alive timeout.
   */
  function send(target: URL, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = (target.protocol === "https:" ? httpsRequest : httpRequest)(
        target,
        { method: "GET", headers, signal },
        resolve,
      );
      // `on`, not `once`: the socket can fail again after the response came (a reset mid-body).
      request.on("error", (error) => reject(new NetworkFailure(networkCode(error))));
      request.end();
    });
  }

  /** Turns an attempt into an account, a final error (AbortError) or a retry (RetryableAttempt). */
  function judge(result: AttemptResult, accountId: string, attempts: number): FetchedAccount {
    switch (result.type) {
      case "body": {
        const parsed = parseAccountBody(result.body);
        if (parsed.ok) return { account: parsed.account, unknownFields: parsed.unknownFields, attempts };
        const { problem, field } = parsed;
        throw final(
          new PlugchatInvalidResponseError({ accountId, status: result.status, attempts, problem, field }),
        );
      }
      case "refused": {
        const { status, problem } = result;
        throw final(new PlugchatInvalidResponseError({ accountId, status, attempts, problem }));
      }
      case "network": {
        const decision = decideRetry({ code: result.code }, attempts, policy);
        if (decision.retry) throw new RetryableAttempt(attempts, null, result.code, decision.delayMs);
        throw final(new PlugchatUnavailableError({ accountId, status: null, code: result.code, attempts }));
      }
      case "status": {
        const { status } = result;
        if (status === 401 || status === 403) {
          throw final(new PlugchatUnauthorizedError(accountId, status, attempts));
        }
        if (status === 404) throw final(new PlugchatNotFoundError(accountId, attempts));
        const decision = decideRetry(result, attempts, policy);
        if (decision.retry) throw new RetryableAttempt(attempts, status, null, decision.delayMs);
        const problem = `unexpected HTTP ${status}`;
        throw final(new PlugchatInvalidResponseError({ accountId, status, attempts, problem }));
      }
    }
  }

  function report(info: AttemptInfo): void {
    try {
      options.onAttempt?.(info);
    } catch (error) {
      // A broken metrics hook must not fail the sync.
      logger.warn({ err: error, accountId: info.accountId }, "plugchat onAttempt hook failed");
    }
  }

  return { getAccount };
}

/** Stops p-retry at once; it rethrows the wrapped error unchanged. */
function final(error: PlugchatError): AbortError {
  return new AbortError(error);
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

function checkOptions(options: PlugchatClientOptions): void {
  if (options.token === "") throw new TypeError("The Plugchat token is empty: set PLUGCHAT_TOKEN");
  if (!URL.canParse(options.baseUrl) || !/^https?:$/.test(new URL(options.baseUrl).protocol)) {
    throw new TypeError(
      `The Plugchat base URL must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`,
    );
  }
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a whole number of at least 1, got ${options.maxAttempts}`);
  }
  if (!(options.timeoutMs > 0)) {
    throw new RangeError(`timeoutMs must be more than 0, got ${options.timeoutMs}`);
  }
}
