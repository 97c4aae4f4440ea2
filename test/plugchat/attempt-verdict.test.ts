import { describe, expect, it } from "vitest";
import { type AttemptContext, judgeAttempt } from "../../src/plugchat/attempt-verdict.js";
import {
  PlugchatInvalidResponseError,
  PlugchatNotFoundError,
  PlugchatUnauthorizedError,
} from "../../src/plugchat/errors.js";

const ID = "acc-00001";
const context: AttemptContext = {
  accountId: ID,
  attempt: 2,
  policy: { minRetryDelayMs: 100, maxRetryDelayMs: 1000, retryAfterMaxMs: 5000 },
  nowMs: Date.parse("2025-01-01T00:00:00Z"),
  random: 0,
};
const account = {
  externalId: "123",
  name: "A",
  active: true,
  onStartAttendance: null,
  onFinishAttendance: null,
  onReceiveMessage: null,
  onSendingMessage: null,
  onMessageStatus: null,
};
const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("judging an attempt", () => {
  it("gives the account, its unknown fields with their values, and the attempts it took", () => {
    expect(
      judgeAttempt({ type: "body", status: 200, body: body({ ...account, plan: "pro" }) }, context),
    ).toEqual({
      type: "account",
      fetched: { account, unknownFields: ["plan"], extra: { values: { plan: "pro" }, cut: [] }, attempts: 2 },
    });
  });

  it("fails for good on a body that is not an account, naming the field", () => {
    const verdict = judgeAttempt(
      { type: "body", status: 200, body: body({ ...account, active: 1 }) },
      context,
    );
    expect(verdict.type === "failed" && verdict.error).toBeInstanceOf(PlugchatInvalidResponseError);
    expect(verdict).toMatchObject({ error: { field: "active", status: 200, attempts: 2 } });
  });

  it("fails for good on a refused answer, with its problem in the message", () => {
    const verdict = judgeAttempt({ type: "refused", status: 302, problem: "too many redirects" }, context);
    expect(verdict).toMatchObject({ type: "failed", error: { kind: "invalid_response", status: 302 } });
    expect(verdict.type === "failed" && verdict.error.message).toContain("too many redirects");
  });

  it.each([
    [401, PlugchatUnauthorizedError],
    [403, PlugchatUnauthorizedError],
    [404, PlugchatNotFoundError],
    [400, PlugchatInvalidResponseError],
  ])("fails for good on HTTP %i", (status, type) => {
    const verdict = judgeAttempt({ type: "status", status, retryAfter: null }, context);
    expect(verdict.type === "failed" && verdict.error).toBeInstanceOf(type);
  });

  it("retries a network failure after the backoff delay", () => {
    expect(judgeAttempt({ type: "network", code: "ECONNRESET" }, context)).toEqual({
      type: "retry",
      status: null,
      code: "ECONNRESET",
      delayMs: 200,
    });
  });

  it("retries HTTP 429 after the Retry-After the server asked for", () => {
    expect(judgeAttempt({ type: "status", status: 429, retryAfter: "3" }, context)).toEqual({
      type: "retry",
      status: 429,
      code: null,
      delayMs: 3000,
    });
  });
});
