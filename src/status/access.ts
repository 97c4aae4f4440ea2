// Who may see the status page: it shows customer names and webhook URLs. Pure, so that every case is
// tested without a network.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Secret } from "../config/secret.js";
import { isLoopbackHost } from "../lib/loopback.js";

export interface AccessRequest {
  /** The TCP peer (`socket.remoteAddress`), never a header: headers can be forged. */
  remoteAddress: string | undefined;
  /** The Host header. */
  host: string | undefined;
  /** The Authorization header. */
  authorization: string | undefined;
}

/**
 * `allow`; `ask_password`: answer 401 with a Basic challenge; `refuse`: answer 403 with `reason`.
 */
export type AccessDecision =
  | { kind: "allow" }
  | { kind: "ask_password" }
  | { kind: "refuse"; reason: string };

export const REALM = "plugchat-sync status";

/**
 * With a password set, everyone must give it, loopback clients too: a proxy on this machine (TLS
 * termination, an ingress sidecar) makes every remote client look local.
 * Without one, only loopback clients are served, and only under a loopback Host name: a page of
 * another site cannot reach it through DNS rebinding (its Host would be that site's name).
 */
export function decideAccess(request: AccessRequest, password: Secret | undefined): AccessDecision {
  if (password !== undefined) {
    const given = basicPassword(request.authorization);
    return given !== undefined && sameText(given, password.reveal())
      ? { kind: "allow" }
      : { kind: "ask_password" };
  }
  if (!isLoopbackAddress(request.remoteAddress)) {
    return {
      kind: "refuse",
      reason:
        "the status page answers clients on this machine only: open it from here (or through an SSH tunnel), or set STATUS_PASSWORD on the worker to open it to anyone with the password",
    };
  }
  if (!isLoopbackHostHeader(request.host)) {
    return {
      kind: "refuse",
      reason: "the status page answers under a loopback name only (localhost, 127.0.0.1, [::1])",
    };
  }
  return { kind: "allow" };
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a dual-stack socket reports ::ffff:127.0.0.1). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.toLowerCase().replace(/^::ffff:/, "");
  return v4 === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function isLoopbackHostHeader(host: string | undefined): boolean {
  // Only a host and maybe a port: "localhost@evil.example" or a path would parse to another host.
  if (host === undefined || /[@/\\?#\s]/.test(host) || !URL.canParse(`http://${host}`)) return false;
  return isLoopbackHost(new URL(`http://${host}`).hostname);
}

/** The password of a `Basic` Authorization header (any user name), or undefined. */
export function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** Compares in constant time (hashes first, so lengths do not show either). */
function sameText(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}
