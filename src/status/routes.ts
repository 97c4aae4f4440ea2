// The status page's routes on the worker's HTTP server: `/`, its stylesheet and script, and one JSON
// endpoint per panel. Read-only (the server answers GET and HEAD only), behind `decideAccess`.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Secret } from "../config/secret.js";
import type { PrismaClient } from "../db/prisma.js";
import { decideAccess, REALM } from "./access.js";
import { STATUS_CSS, STATUS_JS } from "./assets.js";
import { accountsPanel, currentRun, driftByDay, recentDrift, recentRuns } from "./queries.js";
import { renderStatusPage } from "./render.js";

/** Job counts by state (waiting, active, failed, ...), as the worker's `jobCounts()` gives them. */
export type JobCounts = () => Promise<Record<string, number>>;

export interface StatusRoutesOptions {
  prisma: PrismaClient;
  /** The queue panel's figures; without it the panel says they are not available. */
  jobCounts?: JobCounts;
  /** STATUS_PASSWORD: with it, every client must give it; without it, loopback clients only. */
  password?: Secret;
  /** The clock, replaceable in tests. */
  now?: () => Date;
}

/** Handles a request when its path is the status page's; false leaves it to the server's other routes. */
export type StatusRoutes = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

const PATHS = new Set([
  "/",
  "/status.css",
  "/status.js",
  "/api/run",
  "/api/runs",
  "/api/drift",
  "/api/accounts",
  "/api/queue",
]);

/**
 * Nothing but this origin's own stylesheet, script, fetches and inline SVG: no inline script or
 * style, no frames, no forms, no base tag, so an escaping mistake still could not run anything.
 */
export const CONTENT_SECURITY_POLICY = [
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

export function statusRoutes(options: StatusRoutesOptions): StatusRoutes {
  const { prisma } = options;
  const now = options.now ?? (() => new Date());
  const queue = async () => (options.jobCounts ? await options.jobCounts() : null);

  return async (request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (!PATHS.has(path)) return false;
    const decision = decideAccess(
      {
        remoteAddress: request.socket.remoteAddress,
        host: request.headers.host,
        authorization: request.headers.authorization,
      },
      options.password,
    );
    if (decision.kind === "ask_password") {
      send(
        response,
        401,
        "text/plain; charset=utf-8",
        "the status page needs its password (STATUS_PASSWORD)\n",
        {
          "WWW-Authenticate": `Basic realm="${REALM}", charset="UTF-8"`,
        },
      );
      return true;
    }
    if (decision.kind === "refuse") {
      send(response, 403, "text/plain; charset=utf-8", `${decision.reason}\n`);
      return true;
    }
    switch (path) {
      case "/": {
        const [run, runs, drift, latest, accounts, jobs] = await Promise.all([
          currentRun(prisma, now()),
          recentRuns(prisma),
          driftByDay(prisma),
          recentDrift(prisma),
          accountsPanel(prisma),
          // The page still shows the database's panels when the queue cannot answer.
          queue().catch(() => null),
        ]);
        const html = renderStatusPage(
          { run, runs, drift, recentDrift: latest, accounts, queue: jobs },
          now(),
        );
        send(response, 200, "text/html; charset=utf-8", html);
        return true;
      }
      case "/status.css":
        send(response, 200, "text/css; charset=utf-8", STATUS_CSS);
        return true;
      case "/status.js":
        send(response, 200, "text/javascript; charset=utf-8", STATUS_JS);
        return true;
      case "/api/run":
        return json(response, { run: await currentRun(prisma, now()) });
      case "/api/runs":
        return json(response, { runs: await recentRuns(prisma) });
      case "/api/drift":
        return json(response, { days: await driftByDay(prisma), recent: await recentDrift(prisma) });
      case "/api/accounts":
        return json(response, await accountsPanel(prisma));
      case "/api/queue":
        return json(response, { queue: await queue() });
      default:
        return false;
    }
  };
}

function json(response: ServerResponse, body: unknown): true {
  send(response, 200, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`);
  return true;
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(body);
}
