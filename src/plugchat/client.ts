// The Plugchat client: reads one account at a time over HTTP, with retries and a rate cap. Its parts:
// http-request.ts sends one attempt, attempt-verdict.ts judges it, retry-loop.ts retries it.
import { type Logger, silentLogger } from "../logger.js";
import { inSpan, type TraceSpan, tracing } from "../observability/tracing/spans.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../version.js";
import { assertValidAccountId } from "./account-id.js";
import { type AttemptVerdict, type FetchedAccount, judgeAttempt } from "./attempt-verdict.js";
import { type AttemptResult, type RequestSettings, requestOnce, serverOf } from "./http-request.js";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { retryAttempts } from "./retry-loop.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy.js";

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

/** Per call: `onAttempt` is told of each of this call's attempts; `maxAttempts` replaces the client's. */
export interface GetAccountOptions {
  signal?: AbortSignal | undefined;
  onAttempt?: ((info: AttemptInfo) => void) | undefined;
  maxAttempts?: number | undefined;
}

export interface PlugchatClient {
  /**
   * Reads one account. Rejects with a `PlugchatError`, or with `signal.reason` when the caller aborts.
   */
  getAccount(accountId: string, options?: GetAccountOptions): Promise<FetchedAccount>;
}

export function createPlugchatClient(options: PlugchatClientOptions): PlugchatClient {
  return new HttpPlugchatClient(options);
}

class HttpPlugchatClient implements PlugchatClient {
  /** The base URL's path, up to the account's id. */
  readonly #accountsPath: string;
  // Private: the headers hold the token, and errors and log lines are built without it.
  readonly #request: RequestSettings;
  readonly #policy: RetryPolicy;
  readonly #maxAttempts: number;
  readonly #logger: Logger;
  readonly #onAttempt: ((info: AttemptInfo) => void) | undefined;

  constructor(options: PlugchatClientOptions) {
    checkOptions(options);
    const baseUrl = new URL(options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`);
    this.#accountsPath = `${baseUrl.pathname}integrator/account/`;
    this.#request = {
      server: serverOf(new URL(baseUrl.origin)),
      headers: requestHeaders(options.token),
      timeoutMs: options.timeoutMs,
      rateLimiter: options.rateLimiter ?? createRateLimiter(options.maxRps),
    };
    this.#policy = {
      minRetryDelayMs: options.minRetryDelayMs ?? DEFAULT_RETRY_POLICY.minRetryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_RETRY_POLICY.maxRetryDelayMs,
      retryAfterMaxMs: options.retryAfterMaxMs ?? DEFAULT_RETRY_POLICY.retryAfterMaxMs,
    };
    this.#maxAttempts = options.maxAttempts;
    this.#logger = options.logger ?? silentLogger;
    this.#onAttempt = options.onAttempt;
  }

  getAccount(accountId: string, options: GetAccountOptions = {}): Promise<FetchedAccount> {
    try {
      assertValidAccountId(accountId);
    } catch (error) {
      return Promise.reject(error);
    }
    const path = `${this.#accountsPath}${encodeURIComponent(accountId)}/`;
    // Untraced, as almost always: no span's options or closures for each of thousands of reads a second.
    if (!tracing()) return this.#read(path, accountId, options);
    // Traced: one span per account read, its attempts (retries included) as children.
    return inSpan(
      "plugchat getAccount",
      { kind: "client", attributes: { "plugchat.account_id": accountId } },
      async (span) => {
        let last: AttemptInfo | undefined;
        const onAttempt = (info: AttemptInfo) => {
          last = info;
          options.onAttempt?.(info);
        };
        try {
          return await this.#read(path, accountId, { ...options, onAttempt });
        } finally {
          if (last) span.setAttributes({ "plugchat.attempts": last.attempt, ...attemptAttributes(last) });
        }
      },
    );
  }

  /** The account's attempts, retried as their verdicts say. */
  #read(path: string, accountId: string, options: GetAccountOptions): Promise<FetchedAccount> {
    return retryAttempts((attempt) => this.#attempt(path, accountId, attempt, options), {
      accountId,
      maxAttempts: options.maxAttempts ?? this.#maxAttempts,
      signal: options.signal,
      logger: this.#logger,
    });
  }

  /** One attempt: waits for the rate limiter, sends, tells the onAttempt hook, and judges the outcome. */
  async #attempt(
    path: string,
    accountId: string,
    attempt: number,
    { signal, onAttempt }: GetAccountOptions,
  ): Promise<AttemptVerdict> {
    const { rateLimiter } = this.#request;
    if (rateLimiter.uncapped) signal?.throwIfAborted();
    else await rateLimiter.acquire(signal);
    const started = performance.now();
    const result = tracing()
      ? await inSpan(
          "GET plugchat account",
          { kind: "client", attributes: { "http.request.method": "GET", "plugchat.attempt": attempt } },
          async (span: TraceSpan) => {
            const answer = await requestOnce(path, this.#request, signal);
            span.setAttributes(attemptAttributes(attemptInfo(answer, accountId, attempt, started)));
            return answer;
          },
        )
      : await requestOnce(path, this.#request, signal);
    const info = attemptInfo(result, accountId, attempt, started);
    this.#callOnAttemptHookCatchingErrors(info);
    onAttempt?.(info);
    signal?.throwIfAborted();
    return judgeAttempt(result, { accountId, attempt, policy: this.#policy });
  }

  /** Calls the onAttempt hook; an error it throws is logged and goes no further. */
  #callOnAttemptHookCatchingErrors(info: AttemptInfo): void {
    try {
      this.#onAttempt?.(info);
    } catch (error) {
      // A broken metrics hook must not fail the sync.
      this.#logger.warn({ err: error, accountId: info.accountId }, "plugchat onAttempt hook failed");
    }
  }
}

function attemptInfo(
  result: AttemptResult,
  accountId: string,
  attempt: number,
  startedAt: number,
): AttemptInfo {
  return {
    accountId,
    attempt,
    status: result.type === "network" ? null : result.status,
    code: result.type === "network" ? result.code : null,
    durationMs: performance.now() - startedAt,
  };
}

/** An attempt's outcome as span attributes: the HTTP status, or the network error's code. */
function attemptAttributes(info: AttemptInfo): Record<string, string | number> {
  return info.status === null
    ? { "error.type": info.code ?? "network" }
    : { "http.response.status_code": info.status };
}

function requestHeaders(token: string): Record<string, string> {
  return {
    Authorization: `Bearer ${token}`,
    Accept: "application/json",
    // Plugchat answers 415 to a GET without it, body or not.
    "Content-Type": "application/json",
    "User-Agent": `${PACKAGE_NAME}/${PACKAGE_VERSION}`,
  };
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
