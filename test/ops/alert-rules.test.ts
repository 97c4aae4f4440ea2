// ops/prometheus/alerts.yml: valid rules (`promtool check rules`), each shown firing and not firing by
// the unit tests of alerts.test.yml (`promtool test rules`), and about series the worker serves.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/observability/metrics.js";
import { promtool, promtoolNote, runPromtoolTests } from "../helpers/promtool.js";

const RULES = "ops/prometheus/alerts.yml";
const RULE_TESTS = "ops/prometheus/alerts.test.yml";

describe.runIf(runPromtoolTests)(`the alert rules${promtoolNote}`, () => {
  it("pass promtool check rules", async () => {
    const { code, output } = await promtool(["check", "rules", RULES]);
    expect(output).toMatch(/SUCCESS: 7 rules found/);
    expect(code).toBe(0);
  });

  it("pass their unit tests (promtool test rules), every rule tested firing and not firing", async () => {
    const { code, output } = await promtool(["test", "rules", RULE_TESTS]);
    expect(output).toContain("SUCCESS");
    expect(code).toBe(0);
    const tests = readFileSync(RULE_TESTS, "utf8");
    for (const alert of alertNames()) {
      // Firing: an expected alert of the rule; not firing: an evaluation of it expecting none.
      const evaluations = [...tests.matchAll(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:(.*)`, "g"))];
      expect(
        evaluations.some(([, rest]) => rest?.trim() === "[]"),
        `${alert} not firing`,
      ).toBe(true);
      expect(
        evaluations.some(([, rest]) => rest?.trim() === ""),
        `${alert} firing`,
      ).toBe(true);
    }
  });
});

describe("the alert rules' series", () => {
  it("are all served by the worker, or Prometheus's own up", async () => {
    const text = await createMetrics().registry.metrics();
    const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map(([, name]) => name));
    const rules = readFileSync(RULES, "utf8").replace(/^\s*#.*$/gm, "");
    const used = [...rules.matchAll(/\bplugchat_sync_[a-z_]+/g)].map(([name]) => name);
    expect(used.length).toBeGreaterThan(7);
    for (const name of used) expect(served, name).toContain(name);
  });
});

function alertNames(): string[] {
  return [...readFileSync(RULES, "utf8").matchAll(/- alert: (\S+)/g)].map(([, name]) => name as string);
}
