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

const EXTRA = { sessionName: "loja-azul", plan: { tier: "pro", seats: 3 } };

function stored(overrides: Partial<StoredAccount> = {}): StoredAccount {
  return {
    id: "a1",
    lastSyncedAt: new Date(0),
    missingSince: null,
    values: { ...account },
    extra: EXTRA,
    ...overrides,
  };
}

/** What Plugchat answered: the account and, unless given, the same extra fields as stored. */
function fetched(changes: Partial<PlugchatAccount> = {}, extra: Record<string, unknown> = EXTRA) {
  return { account: { ...account, ...changes }, extra };
}

describe("drift decisions", () => {
  it("sets a baseline, with no drift, on the first successful fetch", () => {
    const blank = Object.fromEntries(SYNCED_FIELDS.map((field) => [field, null])) as StoredAccount["values"];
    expect(outcomeOfFetch(stored({ lastSyncedAt: null, values: blank, extra: {} }), fetched())).toEqual({
      kind: "baseline",
      id: "a1",
      account,
      extra: EXTRA,
      changes: [],
    });
  });

  it("finds nothing when every field is equal", () => {
    expect(outcomeOfFetch(stored(), fetched())).toEqual({ kind: "unchanged", id: "a1" });
    // jsonb gives object keys back in its own order: the same value.
    const reordered = { plan: { seats: 3, tier: "pro" }, sessionName: "loja-azul" };
    expect(outcomeOfFetch(stored({ extra: reordered }), fetched())).toEqual({ kind: "unchanged", id: "a1" });
  });

  it("reports a change of a field kept in extra as drift under its API name, values as text or JSON", () => {
    const outcome = outcomeOfFetch(
      stored(),
      fetched({}, { sessionName: "loja-azul-2", plan: { tier: "max" } }),
    );
    expect(outcome).toMatchObject({
      kind: "changed",
      changes: [
        { field: "plan", from: '{"seats":3,"tier":"pro"}', to: '{"tier":"max"}' },
        { field: "sessionName", from: "loja-azul", to: "loja-azul-2" },
      ],
    });
  });

  it("keeps a field's first appearance without drift, and says nothing of one the answer leaves out", () => {
    const first = outcomeOfFetch(stored({ extra: {} }), fetched());
    expect(first).toEqual({ kind: "changed", id: "a1", account, extra: EXTRA, changes: [] });
    expect(outcomeOfFetch(stored(), fetched({}, {}))).toEqual({ kind: "unchanged", id: "a1" });
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
    expect(outcomeOfFetch(stored({ missingSince: new Date() }), fetched())).toMatchObject({
      kind: "changed",
      changes: [{ field: "exists", from: "false", to: "true" }],
    });
  });
});
