import { describe, expect, it } from "vitest";
import { redactUrlCredentials, safeHost, urlWithoutPassword } from "../../src/lib/redact.js";
import { sleep } from "../../src/lib/sleep.js";
import { quoted, truncate } from "../../src/lib/text.js";
import { rejectAfter, settlesWithin, withTimeout } from "../../src/lib/timeout.js";

describe("truncate", () => {
  it("keeps text that fits and cuts longer text to the limit, ending in an ellipsis", () => {
    expect(truncate("abcdef", 6)).toBe("abcdef");
    expect(truncate("abcdefg", 6)).toBe("abcde…");
    expect(truncate("abcdefg", 6)).toHaveLength(6);
  });

  it("never cuts a character in two halves", () => {
    expect(truncate("ab😀cd", 4)).toBe("ab…");
    expect(truncate("abc😀d", 4)).toBe("abc…");
  });

  it("quotes a cut value as JSON", () => {
    expect(quoted('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoted("x".repeat(100), 10)).toBe(`"${"x".repeat(9)}…"`);
  });
});

describe("redacting URLs", () => {
  it("replaces the credentials of every URL in a text", () => {
    expect(redactUrlCredentials("connect postgresql://me:s3cret@db:5432/x failed")).toBe(
      "connect postgresql://[redacted]@db:5432/x failed",
    );
  });

  it("leaves the password out of one URL and keeps the rest", () => {
    expect(urlWithoutPassword("postgresql://me:s3cret@db:5432/x")).toBe("postgresql://me@db:5432/x");
  });

  it("gives only the host of a URL, or says it is invalid", () => {
    expect(safeHost("https://u:p@hooks.example.com:8443/x")).toBe("hooks.example.com:8443");
    expect(safeHost("not a url")).toBe("(invalid URL)");
  });
});

describe("timeouts", () => {
  const never = new Promise<string>(() => undefined);

  it("withTimeout gives the value in time, undefined when late", async () => {
    expect(await withTimeout(Promise.resolve("v"), 1_000)).toBe("v");
    expect(await withTimeout(never, 5)).toBeUndefined();
  });

  it("settlesWithin says whether the work settled, either way", async () => {
    expect(await settlesWithin(Promise.reject(new Error("x")), 1_000)).toBe(true);
    expect(await settlesWithin(never, 5)).toBe(false);
  });

  it("rejectAfter gives the value in time, even undefined, and rejects when late", async () => {
    expect(await rejectAfter(Promise.resolve(undefined), 1_000)).toBeUndefined();
    await expect(rejectAfter(never, 5)).rejects.toThrow("no answer within 5 ms");
  });
});

describe("sleep", () => {
  it("resolves once the time has passed", async () => {
    await expect(sleep(5)).resolves.toBeUndefined();
    await expect(sleep(5, new AbortController().signal)).resolves.toBeUndefined();
  });

  it("rejects with the signal's own reason, whether it aborts before or during the wait", async () => {
    const reason = new Error("run cancelled");
    await expect(sleep(10_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});
