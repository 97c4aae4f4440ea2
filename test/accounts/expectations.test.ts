// The naming and value rules of expected values, without a database.
import { describe, expect, it } from "vitest";
import {
  ExpectationColumnError,
  expectationsOfRow,
  expectedFieldsOf,
  expectedValueOf,
} from "../../src/accounts/source/expectations.js";
import { thrownBy } from "../helpers/throws.js";

describe("expectedFieldsOf", () => {
  it("names each field by the API's spelling or the reporting column's, case-insensitively", () => {
    expect(
      expectedFieldsOf(
        [
          "id",
          "external_id",
          "NAME",
          "Active",
          "onStartAttendance",
          "ON_FINISH_ATTENDANCE",
          "onreceivemessage",
          "on_sending_message",
          "onMessageStatus",
        ],
        "Q",
      ),
    ).toEqual([
      "externalId",
      "name",
      "active",
      "onStartAttendance",
      "onFinishAttendance",
      "onReceiveMessage",
      "onSendingMessage",
      "onMessageStatus",
    ]);
    expect(expectedFieldsOf(["plugchat_account_id"], "Q"), "the id alone expects nothing").toEqual([]);
  });

  it("refuses, in one line naming it and the accepted names, a column that names no field", () => {
    const error = thrownBy(
      () => expectedFieldsOf(["id", "status"], "ACCOUNT_SOURCE_QUERY"),
      ExpectationColumnError,
    );
    expect(error.message).toMatch(/^ACCOUNT_SOURCE_QUERY has a column "status" that names no synced field/);
    expect(error.message).toContain("onReceiveMessage (on_receive_message)");
    expect(error.message).not.toContain("\n");
  });

  it("refuses a field named twice", () => {
    expect(() => expectedFieldsOf(["id", "name", "NAME"], "Q")).toThrow(/two columns for the field name/);
  });
});

describe("expectedValueOf", () => {
  it("expects null for a SQL NULL and the empty string for ''", () => {
    expect(expectedValueOf("onReceiveMessage", null)).toEqual({ ok: true, value: null });
    expect(expectedValueOf("onReceiveMessage", "")).toEqual({ ok: true, value: "" });
    expect(expectedValueOf("name", " Loja ")).toEqual({ ok: true, value: " Loja " });
  });

  it("takes booleans, 0/1 (TINYINT, BIT) and the words true/false for active, and nothing else", () => {
    for (const yes of [true, 1, "1", "true", "TRUE", Buffer.from([1])])
      expect(expectedValueOf("active", yes)).toEqual({ ok: true, value: "true" });
    for (const no of [false, 0, "0", "false", Buffer.from([0])])
      expect(expectedValueOf("active", no)).toEqual({ ok: true, value: "false" });
    for (const bad of ["maybe", 2, "", "yes please"])
      expect(expectedValueOf("active", bad)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/not a boolean/),
      });
  });

  it("writes numbers as text (an integer key column) and refuses what is not text", () => {
    expect(expectedValueOf("externalId", 42)).toEqual({ ok: true, value: "42" });
    expect(expectedValueOf("externalId", 9007199254740993n)).toEqual({ ok: true, value: "9007199254740993" });
    expect(expectedValueOf("externalId", new Date(0))).toEqual({ ok: false, reason: "not text" });
  });
});

describe("expectationsOfRow", () => {
  it("expects the account to exist, then each valid cell; an invalid cell is named and sets nothing", () => {
    expect(expectationsOfRow("acc-1", ["active", "name"], ["acc-1", "maybe", "Loja"])).toEqual({
      expectations: { accountId: "acc-1", expected: { exists: "true", name: "Loja" } },
      invalid: ['acc-1 active "maybe": not a boolean (true, false, 1 or 0)'],
    });
  });
});
