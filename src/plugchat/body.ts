/**
 * Reads a response body up to `maxBytes`. Returns null, after cancelling the stream, as soon as the
 * body is known to be larger: a broken or hostile server must not make the process buffer it all.
 */
export async function readBodyUpTo(response: Response, maxBytes: number): Promise<Uint8Array | null> {
  if (response.body === null) return new Uint8Array();
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await response.body.cancel();
    return null;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
