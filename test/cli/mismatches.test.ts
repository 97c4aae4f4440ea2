// `plugchat-sync mismatches` as a user runs it: what account_mismatches holds, as a table or JSON, and
// an exit code a cron job or a CI step can alert on (0 none, 1 some, 2 bad input).
import { beforeEach, describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";
import { useMigratedDatabase } from "../helpers/migrated-database.js";

const setup = useMigratedDatabase();
beforeEach(async () => {
  await setup.prisma
    .$executeRaw`TRUNCATE account_mismatch_spans, account_expectations, account_versions, account_drift, sync_runs, accounts`;
});

const cli = (...args: string[]) =>
  runCli(["mismatches", ...args], inheritedEnv({ DATABASE_URL: setup.database.url }));

/** An account whose last fetch answered, with an open mismatch on each of `fields`, seen by run 3. */
async function mismatched(id: string, name: string, fields: Record<string, [string | null, string | null]>) {
  await setup.prisma.account.create({ data: { id, name, lastStatus: "ok", lastSyncedAt: new Date() } });
  for (const [field, [expected, actual]] of Object.entries(fields)) {
    await setup.prisma.accountExpectation.create({ data: { accountId: id, field, expectedValue: expected } });
    await setup.prisma.accountMismatchSpan.create({
      data: {
        accountId: id,
        field,
        expected,
        actual,
        beganRunId: 3,
        beganAt: new Date("2026-12-01T10:00:00Z"),
      },
    });
  }
}

describe("plugchat-sync mismatches", () => {
  it("exits 0 and says so when there is none, counting accounts it could not verify", async () => {
    await setup.prisma.account.create({ data: { id: "acc-failing", lastStatus: "failed" } });
    await setup.prisma.accountExpectation.create({
      data: { accountId: "acc-failing", field: "active", expectedValue: "true" },
    });
    const result = await cli();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      "no mismatches with your records; 1 account with expected values not verified (never synced, or failing)\n",
    );
  });

  it("exits 1 with a table of the view's rows, values quoted so that null and empty differ", async () => {
    await mismatched("acc-1", "Loja Um", { active: ["true", "false"], onReceiveMessage: ["", null] });
    await mismatched("acc-2", "Loja Dois", { externalId: ["k2", "k-wrong"] });
    const result = await cli();
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^account\s+field\s+expected\s+actual\s+since\s+run\s+name$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^acc-1\s+active\s+"true"\s+"false"\s+2026-12-01 10:00:00Z\s+#3\s+Loja Um$/),
      expect.stringMatching(/^acc-1\s+onReceiveMessage\s+""\s+null\s+.*Loja Um$/),
      expect.stringMatching(/^acc-2\s+externalId\s+"k2"\s+"k-wrong"\s+.*Loja Dois$/),
      "3 mismatches",
    ]);
  });

  it("filters by field (either spelling) and by account, and prints JSON for scripts", async () => {
    await mismatched("acc-1", "Loja Um", { active: ["true", "false"], externalId: ["k1", "x"] });
    await mismatched("acc-2", "Loja Dois", { externalId: ["k2", "k-wrong"] });
    const byField = await cli("--field", "external_id", "--json");
    expect(byField.code).toBe(1);
    const parsed = JSON.parse(byField.stdout);
    expect(parsed).toMatchObject({ total: 2, unverified: 0 });
    expect(
      parsed.mismatches.map((row: { accountId: string; field: string }) => `${row.accountId} ${row.field}`),
    ).toEqual(["acc-1 externalId", "acc-2 externalId"]);
    expect(parsed.mismatches[1]).toMatchObject({
      name: "Loja Dois",
      expected: "k2",
      actual: "k-wrong",
      runId: 3,
    });

    const byAccount = await cli("--account", "acc-2", "--field", "active");
    expect(byAccount.code, "no mismatch of that account and field").toBe(0);
  });

  it("refuses an unknown field and an invalid account id in one line, exit 2, before any query", async () => {
    const field = await cli("--field", "status");
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/not a synced field: one of externalId \(external_id\)/);
    const account = await cli("--account", "../etc");
    expect(account.code).toBe(2);
    expect(account.stderr).toMatch(/not a Plugchat account id/);
  });
});
