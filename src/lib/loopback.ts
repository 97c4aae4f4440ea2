/**
 * Loopback as the WHATWG URL parser leaves a hostname: 127.0.0.0/8 (shorthands such as 127.1 are
 * normalised to dotted quads first), [::1], [::ffff:127.x.y.z] (written in hex) and localhost.
 * A name that only starts with them (127.0.0.1.example.com, localhost.example.com) is not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "localhost." || host === "[::1]") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}
