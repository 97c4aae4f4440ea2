import { describe, expect, it } from "vitest";
import { buildRunNotification, NO_DETAILS, shouldNotify } from "../../src/notify/notification.js";
import { accountSourceRecord, runSummary as summary } from "../helpers/run-summary.js";

describe("shouldNotify", () => {
  it.each([
    { status: "succeeded", driftCount: 0, accountsFailed: 0, expected: false },
    { status: "succeeded", driftCount: 3, accountsFailed: 0, expected: true },
    { status: "partial", driftCount: 0, accountsFailed: 2, expected: true },
    { status: "partial", driftCount: 1, accountsFailed: 2, expected: true },
    { status: "failed", driftCount: 0, accountsFailed: 0, expected: true },
    { status: "failed", driftCount: 5, accountsFailed: 1, expected: true },
  ] as const)("status $status, drift $driftCount, failed $accountsFailed → $expected", (row) => {
    const { expected, ...overrides } = row;
    expect(shouldNotify(summary(overrides))).toBe(expected);
  });
});

describe("shouldNotify and the account source", () => {
  it("tells of a source refused by the removal limit or skipped, even when the run itself went well", () => {
    const refusal = "the source would untrack 9 of 10 tracked accounts (90%), above the removal limit of 25%";
    expect(
      shouldNotify(summary({ accountSource: accountSourceRecord({ outcome: "applied", added: 3 }) })),
    ).toBe(false);
    const refused = summary({ accountSource: accountSourceRecord({ outcome: "refused", error: refusal }) });
    expect(shouldNotify(refused)).toBe(true);
    expect(
      shouldNotify(
        summary({ accountSource: accountSourceRecord({ outcome: "skipped", ids: null, error: "x" }) }),
      ),
    ).toBe(true);
    const notification = buildRunNotification(refused, NO_DETAILS);
    expect(notification.text).toBe(
      `plugchat-sync run #42 succeeded (100 accounts, 0 changed, 0 failed, 0 not found, 0 drift); account source refused: ${refusal}`,
    );
    expect(notification.accountSource).toMatchObject({ outcome: "refused", error: refusal });
  });
});

describe("buildRunNotification", () => {
  it("holds the run's id, status, counts, drift by field and ISO times", () => {
    const notification = buildRunNotification(
      summary({
        status: "partial",
        accountsChanged: 2,
        accountsUnchanged: 95,
        accountsFailed: 2,
        accountsNotFound: 1,
        driftCount: 3,
        unknownFields: ["zeta", "alpha"],
      }),
      {
        ...NO_DETAILS,
        driftByField: { name: 2, active: 1 },
        driftedAccounts: [
          { accountId: "acc-3", name: "Loja 3", fields: ["active", "name"] },
          { accountId: "acc-4", name: "Loja 4", fields: ["name"] },
        ],
        driftedAccountsTotal: 2,
        failingAccounts: [
          {
            accountId: "acc-1",
            name: "Loja 1",
            error: "Plugchat did not answer (HTTP 503) after 5 attempts",
          },
          { accountId: "acc-2", name: null, error: "timeout" },
        ],
        missingAccounts: [{ accountId: "acc-5", name: "Loja 5" }],
        missingAccountsTotal: 1,
      },
    );
    expect(notification).toEqual({
      event: "sync_run.finished",
      version: 1,
      text: "plugchat-sync run #42 partial (100 accounts, 2 changed, 2 failed, 1 not found, 3 drift (active 1, name 2))",
      runId: 42,
      trigger: "schedule",
      status: "partial",
      startedAt: "2026-01-05T10:00:00.000Z",
      finishedAt: "2026-01-05T10:02:03.500Z",
      counts: { total: 100, changed: 2, unchanged: 95, failed: 2, notFound: 1, drift: 3 },
      driftByField: { active: 1, name: 2 },
      driftedAccounts: [
        { accountId: "acc-3", name: "Loja 3", fields: ["active", "name"] },
        { accountId: "acc-4", name: "Loja 4", fields: ["name"] },
      ],
      driftedAccountsNotListed: 0,
      failingAccounts: [
        { accountId: "acc-1", name: "Loja 1", error: "Plugchat did not answer (HTTP 503) after 5 attempts" },
        { accountId: "acc-2", name: null, error: "timeout" },
      ],
      failingAccountsNotListed: 0,
      missingAccounts: [{ accountId: "acc-5", name: "Loja 5" }],
      missingAccountsNotListed: 0,
      error: null,
      unknownFields: ["alpha", "zeta"],
      accountSource: null,
      mismatches: { open: 0, opened: 0, resolved: 0 },
      openedMismatches: [],
      openedMismatchesNotListed: 0,
    });
    // What is POSTed is plain JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(notification))).toEqual(notification);
  });

  it("lists the first 20 failing accounts and counts the others", () => {
    const failingAccounts = Array.from({ length: 25 }, (_, i) => ({
      accountId: `acc-${i}`,
      name: `Loja ${i}`,
      error: "boom",
    }));
    const notification = buildRunNotification(summary({ status: "partial", accountsFailed: 57 }), {
      ...NO_DETAILS,
      failingAccounts,
    });
    expect(notification.failingAccounts).toEqual(failingAccounts.slice(0, 20));
    expect(notification.failingAccountsNotListed).toBe(37);
  });

  it("lists the first 20 accounts with drift and the first 20 gone missing, and counts the others", () => {
    const drifted = Array.from({ length: 22 }, (_, i) => ({
      accountId: `d-${i}`,
      name: null,
      fields: ["name"],
    }));
    const missing = Array.from({ length: 21 }, (_, i) => ({ accountId: `m-${i}`, name: `Loja ${i}` }));
    const notification = buildRunNotification(summary({ driftCount: 60 }), {
      ...NO_DETAILS,
      driftedAccounts: drifted,
      driftedAccountsTotal: 45,
      missingAccounts: missing,
      missingAccountsTotal: 21,
    });
    expect(notification.driftedAccounts).toEqual(drifted.slice(0, 20));
    expect(notification.driftedAccountsNotListed).toBe(25);
    expect(notification.missingAccounts).toEqual(missing.slice(0, 20));
    expect(notification.missingAccountsNotListed).toBe(1);
  });

  it("tells why a failed run stopped, with a null finish time while unknown", () => {
    const notification = buildRunNotification(
      summary({ status: "failed", finishedAt: null, error: "Plugchat refused the token (HTTP 401)" }),
      NO_DETAILS,
    );
    expect(notification).toMatchObject({
      status: "failed",
      finishedAt: null,
      error: "Plugchat refused the token (HTTP 401)",
    });
    expect(notification.text).toBe(
      "plugchat-sync run #42 failed: Plugchat refused the token (HTTP 401) (100 accounts, 0 changed, 0 failed, 0 not found, 0 drift)",
    );
  });
});

describe("a run that opened mismatches with the integrator's records", () => {
  const opened = Array.from({ length: 23 }, (_, i) => ({
    accountId: `acc-${String(i).padStart(2, "0")}`,
    name: i === 0 ? null : `Loja ${i}`,
    field: i % 2 === 0 ? "active" : "onReceiveMessage",
    expected: i % 2 === 0 ? "true" : "",
    actual: i % 2 === 0 ? "false" : null,
  }));

  it("is told even when nothing else happened, and only when the run opened some", () => {
    const quiet = { status: "succeeded", driftCount: 0, accountsFailed: 0 } as const;
    expect(shouldNotify(summary({ ...quiet, mismatches: { open: 3, opened: 1, resolved: 0 } }))).toBe(true);
    expect(shouldNotify(summary({ ...quiet, mismatches: { open: 3, opened: 0, resolved: 0 } }))).toBe(false);
    expect(shouldNotify(summary({ ...quiet, mismatches: { open: 0, opened: 0, resolved: 2 } }))).toBe(false);
    expect(shouldNotify(summary({ ...quiet, mismatches: null }))).toBe(false);
  });

  it("names the first 20 (account, name, field, expected, actual) and counts the others", () => {
    const notification = buildRunNotification(
      summary({ mismatches: { open: 30, opened: 23, resolved: 2 } }),
      { ...NO_DETAILS, openedMismatches: opened },
    );
    expect(notification.mismatches).toEqual({ open: 30, opened: 23, resolved: 2 });
    expect(notification.openedMismatches).toEqual(opened.slice(0, 20));
    expect(notification.openedMismatches[0]).toEqual({
      accountId: "acc-00",
      name: null,
      field: "active",
      expected: "true",
      actual: "false",
    });
    // "" and null stay apart in the JSON that is POSTed.
    expect(JSON.parse(JSON.stringify(notification)).openedMismatches[1]).toMatchObject({
      expected: "",
      actual: null,
    });
    expect(notification.openedMismatchesNotListed).toBe(3);
    expect(notification.text).toBe(
      "plugchat-sync run #42 succeeded (100 accounts, 0 changed, 0 failed, 0 not found, 0 drift); mismatches with your records: 30 open (23 new, 2 resolved)",
    );
  });
});
