/** `text` with the user and password of every URL in it replaced, e.g. in an error message about to be logged. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, "$1[redacted]@");
}

/** A URL fit for logs and messages: the same URL with its password left out. */
export function urlWithoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return parsed.toString();
}

/** The host (and port) of a URL, the only part of it safe to log; "(invalid URL)" when it cannot be parsed. */
export function safeHost(url: string): string {
  return URL.canParse(url) ? new URL(url).host : "(invalid URL)";
}
