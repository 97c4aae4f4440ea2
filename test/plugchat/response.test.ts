import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptedAsIs,
  accountSchema,
  MAX_EXTERNAL_ID_LENGTH,
  MAX_EXTRA_VALUE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_UNKNOWN_FIELDS,
  MAX_WEBHOOK_LENGTH,
  parseAccountBody,
} from "../../src/plugchat/response.js";
import { SYNCED_FIELDS } from "../../src/sync/drift.js";

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

/** No unknown field: nothing kept apart. */
const NO_EXTRA = { values: {}, cut: [] };

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));

describe("parseAccountBody", () => {
  it("reads the documented example", () => {
    expect(parseAccountBody(bytes(account))).toEqual({
      ok: true,
      account,
      unknownFields: [],
      extra: NO_EXTRA,
    });
  });

  it("accepts a null externalId", () => {
    const parsed = parseAccountBody(bytes({ ...account, externalId: null }));
    expect(parsed).toMatchObject({ ok: true, account: { externalId: null } });
  });

  it("keeps unknown fields apart from the account: their names listed, their values as sent", () => {
    const parsed = parseAccountBody(bytes({ ...account, sessionName: "s", plan: { tier: 2 } }));
    expect(parsed).toEqual({
      ok: true,
      account,
      unknownFields: ["sessionName", "plan"],
      extra: { values: { sessionName: "s", plan: { tier: 2 } }, cut: [] },
    });
  });

  it("cuts a value nested too deep for JSON.stringify, and keeps the account", () => {
    const body = `{"deep":${"[".repeat(5_000)}${"]".repeat(5_000)},${JSON.stringify(account).slice(1)}`;
    expect(parseAccountBody(bytes(body))).toEqual({
      ok: true,
      account,
      unknownFields: ["deep"],
      extra: { values: {}, cut: ["deep"] },
    });
  });

  it("cuts unknown fields past the count limit, and values past the size limit, naming them", () => {
    const many = Object.fromEntries(Array.from({ length: 22 }, (_, index) => [`f${index}`, index]));
    const big = "x".repeat(MAX_EXTRA_VALUE_LENGTH);
    const parsed = parseAccountBody(bytes({ ...account, big, ...many }));
    if (!parsed.ok) throw new Error(parsed.problem);
    expect(parsed.extra.cut).toEqual(["big", "f19", "f20", "f21"]);
    expect(Object.keys(parsed.extra.values)).toHaveLength(MAX_UNKNOWN_FIELDS - 1);
    const fits = parseAccountBody(bytes({ ...account, fits: "x".repeat(MAX_EXTRA_VALUE_LENGTH - 2) }));
    expect(fits).toMatchObject({ ok: true, extra: { cut: [] } });
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
    [
      "a body cut after a comma",
      '{"name":"x",',
      "it stops in the middle of a value after 12 characters (truncated?)",
    ],
    [
      "a body cut inside a string",
      '{"name":"secret-val',
      "it stops in the middle of a value after 19 characters (truncated?)",
    ],
    [
      "a body cut after a colon",
      '{"name":',
      "it stops in the middle of a value after 8 characters (truncated?)",
    ],
    ["a bad token", '{"name":secret}', "a syntax error"],
    ["text after the object", '{"name":"x"} secret', "a syntax error at character 14"],
    [
      "a raw control character in a string",
      '{"name":"a\u0001b"}'.replace("\\u0001", "\u0001"),
      "a syntax error at character 11",
    ],
    ["an empty body", "", "it is empty"],
    ["a blank body", "  \n", "it is empty"],
  ])("rejects %s as not JSON, saying where without quoting the body", (_label, body, detail) => {
    const parsed = parseAccountBody(bytes(body));
    expect(parsed).toEqual({ ok: false, field: null, problem: `the body is not JSON: ${detail}` });
    expect(JSON.stringify(parsed)).not.toContain("secret");
  });

  it("rejects invalid UTF-8", () => {
    expect(parseAccountBody(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      field: null,
      problem: "the body is not JSON: it is not valid UTF-8",
    });
  });

  it("accepts a byte order mark before the JSON", () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(account)]);
    expect(parseAccountBody(withBom)).toEqual({ ok: true, account, unknownFields: [], extra: NO_EXTRA });
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

describe("string values", () => {
  it("keeps odd but valid Unicode and control characters verbatim", () => {
    const odd = {
      ...account,
      name: "\u202eRTL \u200f mark, emoji 🏳️‍🌈👩🏽‍💻, combining e\u0301 and \u0007 bell, tab\t, newline\n",
      externalId: "",
      onReceiveMessage: "javascript:alert(1)",
      onSendingMessage: "'; DROP TABLE accounts; --",
      onMessageStatus: "   ",
    };
    expect(parseAccountBody(bytes(odd))).toEqual({
      ok: true,
      account: odd,
      unknownFields: [],
      extra: NO_EXTRA,
    });
  });

  it("rejects NUL, which PostgreSQL text cannot hold, naming the field", () => {
    expect(parseAccountBody(bytes(`{${JSON.stringify(account).slice(1, -1)},"name":"a\\u0000b"}`))).toEqual({
      ok: false,
      field: "name",
      problem: 'field "name" contains a NUL character (U+0000), which cannot be stored',
    });
  });

  it.each(["\\ud800", "x\\udfffy", "\\udbff"])("rejects the unpaired surrogate %s", (surrogate) => {
    const body = `{${JSON.stringify(account).slice(1, -1)},"onMessageStatus":"${surrogate}"}`;
    expect(parseAccountBody(bytes(body))).toEqual({
      ok: false,
      field: "onMessageStatus",
      problem: 'field "onMessageStatus" is not valid Unicode (it holds an unpaired surrogate)',
    });
  });

  it("accepts a surrogate pair written as JSON escapes", () => {
    const body = `{${JSON.stringify(account).slice(1, -1)},"name":"\\ud83d\\ude00"}`;
    expect(parseAccountBody(bytes(body))).toMatchObject({ ok: true, account: { name: "😀" } });
  });

  it.each([
    ["name", MAX_NAME_LENGTH],
    ["externalId", MAX_EXTERNAL_ID_LENGTH],
    ["onReceiveMessage", MAX_WEBHOOK_LENGTH],
    ["onStartAttendance", MAX_WEBHOOK_LENGTH],
  ])("accepts %s of exactly its cap (%i characters) and rejects one character more", (field, cap) => {
    expect(parseAccountBody(bytes({ ...account, [field]: "x".repeat(cap) }))).toMatchObject({ ok: true });
    expect(parseAccountBody(bytes({ ...account, [field]: "x".repeat(cap + 1) }))).toEqual({
      ok: false,
      field,
      problem: `field "${field}" is ${cap + 1} characters long: at most ${cap} are accepted`,
    });
  });

  it("counts characters, not UTF-16 units: emoji up to the cap are accepted", () => {
    const name = "😀".repeat(MAX_NAME_LENGTH);
    expect(parseAccountBody(bytes({ ...account, name }))).toMatchObject({ ok: true, account: { name } });
  });

  it("rejects a 100 KB name without echoing it", () => {
    const parsed = parseAccountBody(bytes({ ...account, name: "n".repeat(100_000) }));
    expect(parsed).toMatchObject({
      ok: false,
      problem: 'field "name" is 100000 characters long: at most 1024 are accepted',
    });
  });
});

describe("unknown fields", () => {
  it("reports names that cannot be stored or logged as they are, escaped and shortened", () => {
    const extra = { "bad\u0000name": 1, "\ud800": 2, ["k".repeat(200)]: 3, "line\nbreak": 4, plan: 5 };
    const parsed = parseAccountBody(bytes({ ...account, ...extra }));
    expect(parsed).toEqual({
      ok: true,
      account,
      unknownFields: ['"bad\\u0000name"', '"\\ud800"', `"${"k".repeat(62)}…`, '"line\\nbreak"', "plan"],
      extra: {
        values: { "line\nbreak": 4, plan: 5 },
        cut: ['"bad\\u0000name"', '"\\ud800"', `"${"k".repeat(62)}…`],
      },
    });
  });

  it("never shortens a name in the middle of a character such as an emoji", () => {
    const parsed = parseAccountBody(bytes({ ...account, [`${"k".repeat(61)}😀${"k".repeat(10)}`]: 1 }));
    expect(parsed).toEqual({
      ok: true,
      account,
      unknownFields: [`"${"k".repeat(61)}…`],
      extra: { values: {}, cut: [`"${"k".repeat(61)}…`] },
    });
  });

  it(`reports at most ${MAX_UNKNOWN_FIELDS} of them`, () => {
    const extra = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`extra${i}`, i]));
    const parsed = parseAccountBody(bytes({ ...account, ...extra }));
    expect(parsed.ok && parsed.unknownFields).toHaveLength(MAX_UNKNOWN_FIELDS);
  });

  it("treats __proto__ as an unknown field, not as the object's prototype", () => {
    const body = `{"__proto__":{"name":"polluted","active":false},${JSON.stringify(account).slice(1)}`;
    const parsed = parseAccountBody(bytes(body));
    expect(parsed).toEqual({
      ok: true,
      account,
      unknownFields: ["__proto__"],
      extra: { values: {}, cut: ["__proto__"] },
    });
    expect(({} as Record<string, unknown>).name).toBeUndefined();
  });
});

describe("the account checked without the schema", () => {
  // Mostly values the rules accept, so that whole records pass often, and now and then one at or past
  // an edge: lengths at the limits (in characters, an emoji counting one), what PostgreSQL text cannot
  // hold, every other JSON type, or the field left out.
  const valid = (max: number) =>
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom("", "x".repeat(max), "😀".repeat(max), "\ud83d\ude00"),
    );
  const invalid = (max: number) =>
    fc.constantFrom(
      "x".repeat(max + 1),
      `${"😀".repeat(max)}x`,
      "a\u0000b",
      "\ud800",
      "x\udc00y",
      1,
      true,
      [],
      {},
    );
  const field = (max: number, nullable: boolean) =>
    fc.oneof(
      { weight: 12, arbitrary: valid(max) },
      { weight: nullable ? 4 : 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: invalid(max) },
    );
  const record = fc.record(
    {
      externalId: field(MAX_EXTERNAL_ID_LENGTH, true),
      name: field(MAX_NAME_LENGTH, false),
      active: fc.oneof(
        { weight: 12, arbitrary: fc.boolean() },
        { weight: 1, arbitrary: fc.constantFrom(null, 0, "true") },
      ),
      onStartAttendance: field(MAX_WEBHOOK_LENGTH, true),
      onFinishAttendance: field(MAX_WEBHOOK_LENGTH, true),
      onReceiveMessage: field(MAX_WEBHOOK_LENGTH, true),
      onSendingMessage: field(MAX_WEBHOOK_LENGTH, true),
      onMessageStatus: field(MAX_WEBHOOK_LENGTH, true),
      onMessageDeliveryError: field(MAX_WEBHOOK_LENGTH, true),
      sessionName: fc.string({ maxLength: 5 }),
    },
    // Every field but the optional one: present, though maybe invalid.
    { requiredKeys: SYNCED_FIELDS.filter((field) => field !== "onMessageDeliveryError") },
  );
  // Now and then a required field left out too.
  const records = fc.oneof(
    { weight: 10, arbitrary: record },
    {
      weight: 1,
      arbitrary: fc
        .tuple(record, fc.constantFrom(...Object.keys(accountSchema.shape)))
        .map(([value, left]) => Object.fromEntries(Object.entries(value).filter(([key]) => key !== left))),
    },
  );

  it("accepts exactly what the schema accepts, and reads it as the schema does", () => {
    fc.assert(
      fc.property(records, (value) => {
        const parsed = accountSchema.safeParse(value);
        expect(acceptedAsIs(value)).toStrictEqual(parsed.success ? parsed.data : undefined);
      }),
      { numRuns: 2_000 },
    );
  });

  it("leaves out an optional field that is absent, and keeps one that is null", () => {
    expect(account).not.toHaveProperty("onMessageDeliveryError");
    expect(acceptedAsIs(account)).not.toHaveProperty("onMessageDeliveryError");
    expect(acceptedAsIs({ ...account, onMessageDeliveryError: null })).toHaveProperty(
      "onMessageDeliveryError",
      null,
    );
  });
});
