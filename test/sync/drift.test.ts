import { describe, expect, it } from "vitest";
import type { PlugchatAccount } from "../../src/plugchat/index.js";
import {
  diffFields,
  outcomeOfFetch,
  outcomeOfNotFound,
  type StoredAccount,
  SYNCED_FIELDS,
} from "../../src/sync/drift.js";

/** An answer with every field, the optional one included, so that it is also a stored row's values. */
const account: PlugchatAccount & StoredAccount["values"] = {
  externalId: "ext-1",
  name: "Loja Azul",
  active: true,
  onStartAttendance: null,
  onFinishAttendance: "https://hooks.example/finish",
  onReceiveMessage: "",
  onSendingMessage: null,
  onMessageStatus: null,
  onMessageDeliveryError: "https://hooks.example/delivery-error",
};

function stored(overrides: Partial<StoredAccount> = {}): StoredAccount {
  return { id: "a1", lastSyncedAt: new Date(0), missingSince: null, values: { ...account }, ...overrides };
}

describe("drift decisions", () => {
  it("sets a baseline, with no drift, on the first successful fetch", () => {
    const blank = Object.fromEntries(SYNCED_FIELDS.map((field) => [field, null])) as StoredAccount["values"];
    expect(outcomeOfFetch(stored({ lastSyncedAt: null, values: blank }), account)).toEqual({
      kind: "baseline",
      id: "a1",
      account,
      changes: [],
    });
  });

  it("finds nothing when every field is equal", () => {
    expect(outcomeOfFetch(stored(), { ...account })).toEqual({ kind: "unchanged", id: "a1" });
  });

  it("says nothing of a field the answer leaves out (onMessageDeliveryError): no drift, whatever is stored", () => {
    const { onMessageDeliveryError: _, ...withoutIt } = account;
    expect(diffFields(account, withoutIt)).toEqual([]);
    expect(diffFields(account, { ...account, onMessageDeliveryError: null })).toEqual([
      { field: "onMessageDeliveryError", from: "https://hooks.example/delivery-error", to: null },
    ]);
  });

  it("reports each changed field with its old and new value as text", () => {
    const changes = diffFields(account, { ...account, name: "Loja Verde", active: false });
    expect(changes).toEqual([
      { field: "name", from: "Loja Azul", to: "Loja Verde" },
      { field: "active", from: "true", to: "false" },
    ]);
  });

  it("keeps null and the empty string distinct, both ways", () => {
    expect(diffFields(account, { ...account, onReceiveMessage: null })).toEqual([
      { field: "onReceiveMessage", from: "", to: null },
    ]);
    expect(diffFields(account, { ...account, onStartAttendance: "" })).toEqual([
      { field: "onStartAttendance", from: null, to: "" },
    ]);
  });

  it("records a disappearance only for an account that was known to exist", () => {
    expect(outcomeOfNotFound(stored())).toMatchObject({
      changes: [{ field: "exists", from: "true", to: "false" }],
    });
    expect(outcomeOfNotFound(stored({ missingSince: new Date() }))).toMatchObject({ changes: [] });
    expect(outcomeOfNotFound(stored({ lastSyncedAt: null }))).toMatchObject({ changes: [] });
  });

  it("records the return of a missing account even when no field changed", () => {
    expect(outcomeOfFetch(stored({ missingSince: new Date() }), account)).toMatchObject({
      kind: "changed",
      changes: [{ field: "exists", from: "false", to: "true" }],
    });
  });
});
