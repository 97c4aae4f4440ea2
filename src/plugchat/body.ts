import type { IncomingMessage } from "node:http";

/**
 * Reads a response body up to `maxBytes`. Returns null, after destroying the response (and so its
 * connection), as soon as the body is known to be larger: a broken or hostile server must not make
 * the process buffer it all.
 */
export async function readBodyUpTo(response: IncomingMessage, maxBytes: number): Promise<Uint8Array | null> {
  if (Number(response.headers["content-length"]) > maxBytes) {
    response.destroy();
    return null;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      response.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
