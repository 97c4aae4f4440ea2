import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { formatDuration } from "../../src/progress/figures.js";
import { STATUS_JS } from "../../src/status/assets.js";

/** Runs the page's script against a stand-in page, refreshes once, and gives the text it set. */
async function refreshedFields(run: Record<string, unknown>): Promise<Map<string, string>> {
  const fields = new Map<string, string>();
  const element = (selector: string) => ({
    set textContent(value: string) {
      fields.set(selector, value);
    },
  });
  let refresh: (() => void) | undefined;
  const bodies: Record<string, unknown> = { "/api/run": { run }, "/api/queue": { queue: null } };
  runInNewContext(STATUS_JS, {
    document: {
      querySelector: element,
      getElementById: (id: string) => (id === "run" ? { getAttribute: () => String(run.runId) } : null),
    },
    fetch: async (path: string) => ({ ok: true, json: async () => bodies[path] }),
    location: { reload: () => undefined },
    setInterval: (callback: () => void) => {
      refresh = callback;
    },
    setTimeout: () => undefined,
    String,
    Math,
    Date,
    Error,
  });
  refresh?.();
  await new Promise((resolve) => setImmediate(resolve));
  return fields;
}

describe("the page's script", () => {
  it.each([null, 0, 42.4, 185, 7_620, 90_061])(
    "shows an ETA of %s seconds as the server does",
    async (seconds) => {
      const fields = await refreshedFields({
        runId: 7,
        accountsDone: 10,
        accountsPlanned: 100,
        batchesDone: 1,
        batchesPlanned: 10,
        accountsPerSecond: 2.5,
        etaSeconds: seconds,
        fraction: 0.1,
        changed: 1,
        failed: 0,
        notFound: 0,
        driftCount: 2,
      });
      expect(fields.get('[data-field="eta"]')).toBe(seconds === null ? "-" : formatDuration(seconds));
      expect(fields.get('[data-field="rate"]')).toBe("2.5");
    },
  );
});
