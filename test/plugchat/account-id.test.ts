import { describe, expect, it } from "vitest";
import {
  assertValidAccountId,
  isValidAccountId,
  PlugchatInvalidAccountIdError,
} from "../../src/plugchat/index.js";

describe("account id validation", () => {
  it.each(["acc-00001", "A_b-9", "0", "x".repeat(128)])("accepts %j", (id) => {
    expect(isValidAccountId(id)).toBe(true);
    expect(() => assertValidAccountId(id)).not.toThrow();
  });

  it.each(["", "x".repeat(129), "../x", "a b", "ação", "a/b", "a%2Fb", "a.b", "a\nb", "ＡＢ"])(
    "rejects %j",
    (id) => {
      expect(isValidAccountId(id)).toBe(false);
      expect(() => assertValidAccountId(id)).toThrow(PlugchatInvalidAccountIdError);
    },
  );

  it.each([undefined, null, 42, {}])("rejects the non-string %j", (value) => {
    expect(isValidAccountId(value)).toBe(false);
    expect(() => assertValidAccountId(value)).toThrow(PlugchatInvalidAccountIdError);
  });

  it("describes the rule in a one-line message that quotes the id safely", () => {
    const error = captureError(() => assertValidAccountId("bad\nid"));
    expect(error).toBeInstanceOf(PlugchatInvalidAccountIdError);
    expect(error.message).toBe(
      'Invalid Plugchat account id "bad\\nid": use 1 to 128 letters, digits, "-" or "_"',
    );
    expect(error).toMatchObject({
      kind: "invalid_account_id",
      accountId: "bad\nid",
      status: null,
      attempts: 0,
    });
  });

  it("shortens a long id in the message", () => {
    const error = captureError(() => assertValidAccountId("y".repeat(500)));
    expect(error.message).toContain(`"${"y".repeat(40)}…"`);
    expect(error.message.length).toBeLessThan(120);
  });
});

function captureError(fn: () => void): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}
