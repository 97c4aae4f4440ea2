import { describe, expect, it } from "vitest";
import { parseAccountBody } from "../../src/plugchat/response.js";

const account = {
  name: "exemplo de cliente",
  externalId: "123",
  active: true,
  onStartAttendance: null,
  onFinishAttendance: null,
  onReceiveMessage: "https://hooks.example.com/in",
  onSendingMessage: null,
  onMessageStatus: null,
};

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

describe("parseAccountBody", () => {
  it("reads the documented example", () => {
    expect(parseAccountBody(bytes(account))).toEqual({ ok: true, account, unknownFields: [] });
  });

  it("accepts a null externalId", () => {
    const parsed = parseAccountBody(bytes({ ...account, externalId: null }));
    expect(parsed).toMatchObject({ ok: true, account: { externalId: null } });
  });

  it("drops unknown fields from the account and lists their names", () => {
    const parsed = parseAccountBody(bytes({ ...account, sessionName: "s", plan: { tier: 2 } }));
    expect(parsed).toEqual({ ok: true, account, unknownFields: ["sessionName", "plan"] });
  });

  it("names a field of the wrong type and both types, without its value", () => {
    const parsed = parseAccountBody(bytes({ ...account, active: "yes-secretish" }));
    expect(parsed).toEqual({
      ok: false,
      field: "active",
      problem: 'field "active" must be boolean, got string',
    });
  });

  it("says a nullable field also accepts null", () => {
    const parsed = parseAccountBody(bytes({ ...account, onMessageStatus: 3 }));
    expect(parsed).toMatchObject({ problem: 'field "onMessageStatus" must be string or null, got number' });
  });

  it("names a missing field", () => {
    const { name: _name, ...withoutName } = account;
    expect(parseAccountBody(bytes(withoutName))).toEqual({
      ok: false,
      field: "name",
      problem: 'field "name" is missing',
    });
  });

  it("lists every problem on one line", () => {
    const parsed = parseAccountBody(bytes({ ...account, name: 1, active: null }));
    expect(parsed).toMatchObject({
      field: "name",
      problem: 'field "name" must be string, got number; field "active" must be boolean, got null',
    });
  });

  it.each([
    ["malformed JSON", '{"name":"x",'],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])],
    ["an empty body", ""],
  ])("rejects %s as not JSON", (_label, body) => {
    const input = typeof body === "string" ? bytes(body) : body;
    expect(parseAccountBody(input)).toEqual({ ok: false, field: null, problem: "the body is not JSON" });
  });

  it.each([
    ["array", []],
    ["null", null],
    ["string", "account"],
  ])("rejects a JSON %s as not an object", (type, value) => {
    expect(parseAccountBody(bytes(JSON.stringify(value)))).toEqual({
      ok: false,
      field: null,
      problem: `the body is not a JSON object (got ${type})`,
    });
  });
});
