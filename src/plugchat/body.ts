import type { IncomingMessage } from "node:http";

/**
 * Reads a response body up to `maxBytes`. Returns null, after destroying the response (and so its
 * connection), as soon as the body is known to be larger: a broken or hostile server must not make
 * the process buffer it all. Rejects when the body stops short (an error, or the connection closed
 * before its end).
 *
 * Listeners rather than `for await`: the async iterator and its end-of-stream watcher were about
 * 1.5 KB of garbage per request, and in a worker with a small young generation every KB per request
 * is collection time (docs/benchmarks.md, "The worker's garbage per account").
 */
export function readBodyUpTo(response: IncomingMessage, maxBytes: number): Promise<Uint8Array | null> {
  if (Number(response.headers["content-length"]) > maxBytes) {
    response.destroy();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    // Every response closes, after its end too: the error is made only when nothing settled first
    // (one made for every response, its stack captured, was 5% of a profiled run's CPU).
    let settled = false;
    response.on("data", (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        settled = true;
        resolve(null);
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () => {
      settled = true;
      // A body of one chunk (an account's, mostly) is that chunk: no copy.
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    });
    response.on("error", (error) => {
      settled = true;
      reject(error);
    });
    // The connection went mid-body.
    response.on("close", () => {
      if (!settled) reject(prematureClose());
    });
  });
}

function prematureClose(): Error {
  return Object.assign(new Error("the connection closed before the body ended"), {
    code: "ERR_STREAM_PREMATURE_CLOSE",
  });
}
