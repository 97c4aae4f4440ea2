// Delivers a run notification to SYNC_NOTIFY_URL: a JSON POST, retried with backoff, that never throws.
import pRetry, { AbortError } from "p-retry";
import { redactUrlCredentials, safeHost } from "../lib/redact.js";
import type { Logger } from "../logger.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../version.js";

export interface SendNotificationOptions {
  logger: Logger;
  /** Attempts in total, the first one included; default 4. */
  attempts?: number;
  /** Limit of one attempt; default 10000 ms. */
  timeoutMs?: number;
  /** Wait before the first retry, doubled at each retry (with jitter); default 1000 ms. */
  minRetryDelayMs?: number;
  /** Stops retrying (e.g. the worker shuts down); the notification then counts as not delivered. */
  signal?: AbortSignal;
}

/** One failed delivery attempt, described without the URL. */
class DeliveryFailure extends Error {
  constructor(
    readonly status: number | null,
    readonly code: string | null,
  ) {
    super(status === null ? `no answer (${code})` : `HTTP ${status}`);
  }
}

/**
 * POSTs `payload` as JSON to `url`. Retries network errors, timeouts, 408, 429 and 5xx; any other
 * answer but 2xx is final (redirects are not followed). Credentials in the URL (`https://user:pass@host/`)
 * are sent as HTTP Basic authentication. Never throws: returns whether the receiver took it, and logs
 * a failure as one warn line naming only the URL's host (webhook URLs often hold secrets).
 */
export async function sendNotification(
  url: string,
  payload: unknown,
  options: SendNotificationOptions,
): Promise<boolean> {
  const { logger, signal } = options;
  const attempts = Math.max(1, Math.floor(options.attempts ?? 4));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const host = safeHost(url);
  let made = 0;
  try {
    const { target, headers } = request(url);
    const body = JSON.stringify(payload);
    const status = await pRetry(
      async () => {
        signal?.throwIfAborted();
        made += 1;
        const status = await post(target, headers, body, timeoutMs, signal);
        if (status >= 200 && status < 300) return status;
        const failure = new DeliveryFailure(status, null);
        throw isRetryableStatus(status) ? failure : new AbortError(failure);
      },
      {
        retries: attempts - 1,
        minTimeout: options.minRetryDelayMs ?? 1000,
        factor: 2,
        randomize: true,
        ...(signal ? { signal } : {}),
        shouldRetry: ({ error }) => error instanceof DeliveryFailure,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0 && error instanceof DeliveryFailure) {
            logger.debug(
              { host, attempt: attemptNumber, ...outcome(error) },
              "sync notification attempt failed, retrying",
            );
          }
        },
      },
    );
    logger.info({ host, status, attempts: made }, "sync notification sent");
    return true;
  } catch (error) {
    const details = error instanceof DeliveryFailure ? outcome(error) : { reason: describe(error) };
    logger.warn({ host, attempts: made, ...details }, "sync notification not delivered");
    return false;
  }
}

/** The URL without its credentials, which become a Basic Authorization header (fetch refuses them in URLs). */
function request(url: string): { target: URL; headers: Record<string, string> } {
  if (!URL.canParse(url)) throw new Error("SYNC_NOTIFY_URL is not a valid URL");
  const target = new URL(url);
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    throw new Error(`SYNC_NOTIFY_URL has the scheme "${target.protocol}": expected http or https`);
  }
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/json, text/plain, */*",
    "User-Agent": `${PACKAGE_NAME}/${PACKAGE_VERSION}`,
  };
  if (target.username !== "" || target.password !== "") {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.Authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
    target.username = "";
    target.password = "";
  }
  return { target, headers };
}

async function post(
  target: URL,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(target, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: signal ? AbortSignal.any([deadline, signal]) : deadline,
    });
    await response.body?.cancel();
    return response.status;
  } catch (error) {
    if (signal?.aborted) throw new AbortError(new DeliveryFailure(null, "ABORTED"));
    if (deadline.aborted) throw new DeliveryFailure(null, "TIMEOUT");
    throw new DeliveryFailure(null, networkCode(error));
  }
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

function outcome(failure: DeliveryFailure): { status: number } | { code: string | null } {
  return failure.status === null ? { code: failure.code } : { status: failure.status };
}

function networkCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === "string" ? cause.code : "NETWORK_ERROR";
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === "AbortError") return "cancelled";
  return redactUrlCredentials(error instanceof Error ? error.message : String(error));
}
