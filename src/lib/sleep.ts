import { setTimeout as delay } from "node:timers/promises";

/**
 * Waits `ms`, or rejects as soon as `signal` aborts. Node's own `setTimeout` rejects with an
 * `AbortError` then; this rejects with the signal's reason instead, so that a caller who aborts with
 * its own error gets that error back through every wait on the way.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}
