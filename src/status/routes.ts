// The status page's routes on the worker's HTTP server: `/`, its stylesheet and script, and one JSON
// endpoint per panel. Read-only (the server answers GET and HEAD only), behind `decideAccess`.
import type { IncomingMessage } from "node:http";
import type { Secret } from "../config/secret.js";
import type { PrismaClient } from "../db/prisma.js";
import { type Answer, type Handler, json, plainText, Router } from "../lib/http/router.js";
import type { Logger } from "../logger.js";
import type { QueueHealth } from "../queue/worker/queue-health.js";
import { decideAccess, REALM } from "./access.js";
import { STATUS_CSS, STATUS_JS } from "./assets.js";
import { LoginThrottle } from "./login-throttle.js";
import {
  accountsPanel,
  currentRun,
  driftByDay,
  healthPanel,
  mismatchesPanel,
  RUNS_READ_FOR_PAGE,
  recentDrift,
  recentRuns,
} from "./queries.js";
import { renderStatusPage } from "./render.js";

/** Job counts by state (waiting, active, failed, ...), as the worker's `jobCounts()` gives them. */
type JobCounts = () => Promise<Record<string, number>>;

export interface StatusRoutesOptions {
  prisma: PrismaClient;
  /** The queue panel's figures; without it the panel says they are not available. */
  jobCounts?: JobCounts;
  /** The worker processes on the queues and the schedule; without it, health says they are unknown. */
  queueHealth?: () => Promise<QueueHealth>;
  /** STATUS_PASSWORD: with it, every client must give it; without it, loopback clients only. */
  password?: Secret;
  /** Where failed logins are told (the client's address, never what it sent). */
  logger?: Logger;
  /** The clock, replaceable in tests. */
  now?: () => Date;
}

/**
 * Nothing but this origin's own stylesheet, script, fetches and inline SVG: no inline script or
 * style, no frames, no forms, no base tag, so an escaping mistake still could not run anything.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/** The page's routes, for the server's router to fall back to; each one behind `decideAccess`. */
export function statusRoutes(options: StatusRoutesOptions): Router {
  const { prisma } = options;
  const now = options.now ?? (() => new Date());
  const queue = async () => (options.jobCounts ? await options.jobCounts() : null);
  // The health's facts from the queues; null (unknown) when they do not answer: the page still shows.
  const queueHealth = () =>
    options.queueHealth ? options.queueHealth().catch(() => null) : Promise.resolve(null);
  const health = async () => healthPanel(prisma, await queueHealth(), now());
  const refusal = accessGate(options.password, options.logger);
  const guarded =
    (answer: () => Promise<Answer> | Answer): Handler =>
    (request) =>
      refusal(request) ?? answer();

  return new Router({ headers: SECURITY_HEADERS })
    .on(
      "/",
      guarded(async () => {
        const [state, run, runs, drift, latest, accounts, mismatches, jobs] = await Promise.all([
          health(),
          currentRun(prisma, now()),
          recentRuns(prisma, RUNS_READ_FOR_PAGE),
          driftByDay(prisma),
          recentDrift(prisma),
          accountsPanel(prisma),
          mismatchesPanel(prisma),
          // The page still shows the database's panels when the queue cannot answer.
          queue().catch(() => null),
        ]);
        const data = {
          health: state,
          run,
          runs,
          drift,
          recentDrift: latest,
          accounts,
          mismatches,
          queue: jobs,
        };
        return page("text/html; charset=utf-8", renderStatusPage(data, now()));
      }),
    )
    .on(
      "/status.css",
      guarded(() => page("text/css; charset=utf-8", STATUS_CSS)),
    )
    .on(
      "/status.js",
      guarded(() => page("text/javascript; charset=utf-8", STATUS_JS)),
    )
    .on(
      "/api/health",
      guarded(async () => jsonLine(await health())),
    )
    .on(
      "/api/run",
      guarded(async () => jsonLine({ run: await currentRun(prisma, now()) })),
    )
    .on(
      "/api/runs",
      guarded(async () => jsonLine({ runs: await recentRuns(prisma) })),
    )
    .on(
      "/api/drift",
      guarded(async () => jsonLine({ days: await driftByDay(prisma), recent: await recentDrift(prisma) })),
    )
    .on(
      "/api/accounts",
      guarded(async () => jsonLine(await accountsPanel(prisma))),
    )
    .on(
      "/api/mismatches",
      guarded(async () => jsonLine(await mismatchesPanel(prisma))),
    )
    .on(
      "/api/queue",
      guarded(async () => jsonLine({ queue: await queue() })),
    );
}

/**
 * The answer that keeps a client out (a password to give, a refusal, or "too many wrong passwords"),
 * or undefined to let it in. A client past its failed logins is refused before its password is checked.
 */
function accessGate(
  password: Secret | undefined,
  logger: Logger | undefined,
): (request: IncomingMessage) => Answer | undefined {
  const throttle = new LoginThrottle();
  return (request) => {
    const client = request.socket.remoteAddress ?? "unknown";
    const waitS = password === undefined ? undefined : throttle.blockedFor(client);
    if (waitS !== undefined) {
      return plainText(429, `too many wrong passwords from this address: try again in ${waitS} s\n`, {
        "Retry-After": String(waitS),
      });
    }
    const decision = decideAccess(
      { remoteAddress: client, host: request.headers.host, authorization: request.headers.authorization },
      password,
    );
    if (decision.kind === "ask_password") {
      if (request.headers.authorization !== undefined) countFailedLogin(throttle, client, logger);
      return plainText(401, "the status page needs its password (STATUS_PASSWORD)\n", {
        "WWW-Authenticate": `Basic realm="${REALM}", charset="UTF-8"`,
      });
    }
    if (decision.kind === "refuse") return plainText(403, `${decision.reason}\n`);
    if (password !== undefined) throttle.succeeded(client);
    return undefined;
  };
}

function countFailedLogin(throttle: LoginThrottle, client: string, logger: Logger | undefined): void {
  const outcome = throttle.failed(client);
  if (outcome.blocked) {
    logger?.warn(
      { client, retryAfterS: outcome.retryAfterS },
      "status page: too many wrong passwords from one client, refused until the window ends",
    );
  } else {
    logger?.warn({ client, failures: outcome.failures }, "status page login failed (wrong password)");
  }
}

function page(contentType: string, body: string): Answer {
  return { status: 200, headers: { "content-type": contentType }, body };
}

function jsonLine(value: unknown): Answer {
  return json(200, value, { newline: true });
}
