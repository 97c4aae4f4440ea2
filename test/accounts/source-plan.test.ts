import { describe, expect, it } from "vitest";
import { scrubSourceSecrets } from "../../src/accounts/source/errors.js";
import { classifySourceValue, decideReconciliation } from "../../src/accounts/source/plan.js";

describe("classifySourceValue", () => {
  it("takes text ids (trimmed), integers and bigints as ids, and NULL apart", () => {
    expect(classifySourceValue(" acc-1 ")).toEqual({ kind: "id", id: "acc-1" });
    expect(classifySourceValue(42)).toEqual({ kind: "id", id: "42" });
    expect(classifySourceValue(9007199254740993n)).toEqual({ kind: "id", id: "9007199254740993" });
    expect(classifySourceValue(Buffer.from("acc-2"))).toEqual({ kind: "id", id: "acc-2" });
    expect(classifySourceValue(null)).toEqual({ kind: "null" });
    expect(classifySourceValue(undefined)).toEqual({ kind: "null" });
  });

  it.each([
    ["", "empty"],
    ["../x", 'not 1 to 128 ASCII letters, digits, "-" or "_"'],
    ["a/b?c", 'not 1 to 128 ASCII letters, digits, "-" or "_"'],
    ["ação", 'not 1 to 128 ASCII letters, digits, "-" or "_"'],
    ["1.5", 'not 1 to 128 ASCII letters, digits, "-" or "_"'],
    ["x".repeat(129), "longer than 128 characters"],
  ])("refuses %j with the reason %j (the rules of accounts import)", (value, reason) => {
    const result = classifySourceValue(value);
    expect(result).toMatchObject({ kind: "invalid", invalid: { reason } });
  });

  it("quotes an invalid value and cuts it to 40 characters, so a log line stays one line", () => {
    const result = classifySourceValue(`${"y".repeat(50)}\nline two`);
    expect(result).toMatchObject({ kind: "invalid", invalid: { value: `"${"y".repeat(40)}…"` } });
    expect(classifySourceValue(new Date(0))).toMatchObject({
      invalid: { value: "(a date)", reason: "not text" },
    });
  });
});

describe("decideReconciliation", () => {
  const limit = { maxShare: 0.25, howToOverride: "pass --force" };
  const counts = { sourceIds: 100, tracked: 100, added: 0, retracked: 0 };

  it("applies removals up to the limit's share of the tracked ids, and refuses one more", () => {
    expect(decideReconciliation({ ...counts, removed: 25 }, limit)).toEqual({ kind: "apply" });
    const refused = decideReconciliation({ ...counts, removed: 26 }, limit);
    expect(refused).toEqual({
      kind: "refused",
      reason:
        "the source would untrack 26 of 100 tracked accounts (26%), above the removal limit of 25%: nothing was changed; check the source (an empty replica, a broken WHERE?), then pass --force",
    });
  });

  it("refuses an emptied source, applies anything with force or a limit of 1, and never refuses additions", () => {
    expect(decideReconciliation({ ...counts, sourceIds: 0, removed: 100 }, limit).kind).toBe("refused");
    expect(decideReconciliation({ ...counts, removed: 100 }, { ...limit, force: true }).kind).toBe("apply");
    expect(decideReconciliation({ ...counts, removed: 100 }, { ...limit, maxShare: 1 }).kind).toBe("apply");
    expect(decideReconciliation({ ...counts, tracked: 0, added: 5000, removed: 0 }, limit).kind).toBe(
      "apply",
    );
  });

  it("with a limit of 0 never untracks, and with few tracked ids refuses removing the only one", () => {
    expect(decideReconciliation({ ...counts, removed: 1 }, { ...limit, maxShare: 0 }).kind).toBe("refused");
    expect(decideReconciliation({ ...counts, tracked: 1, removed: 1 }, limit).kind).toBe("refused");
  });
});

describe("scrubSourceSecrets", () => {
  it("removes the URL's credentials and its password, raw and percent-decoded, wherever they appear", () => {
    const url = "mysql://app:p%40ss-W0rd@db.internal:3306/crm";
    const text =
      "failed for mysql://app:p%40ss-W0rd@db.internal/crm: bad password p@ss-W0rd\n(again p%40ss-W0rd)";
    const scrubbed = scrubSourceSecrets(text, url);
    expect(scrubbed).not.toMatch(/p@ss-W0rd|p%40ss-W0rd/);
    expect(scrubbed).not.toContain("\n");
    expect(scrubbed).toContain("db.internal");
  });
});
