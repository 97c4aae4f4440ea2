import { describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";

const TOKEN = "cli-test-token";

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: 5 });

/** Runs the built CLI as a user would; resolves with its exit code and output whatever the code. */
function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(
    args,
    inheritedEnv({
      DATABASE_URL: setup.database.url,
      PLUGCHAT_BASE_URL: setup.simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_MAX_ATTEMPTS: "2",
      LOG_LEVEL: "warn",
      ...env,
    }),
  );
}

describe("plugchat-sync sync and report", () => {
  it("sync exits 0 with a JSON summary, then report shows exactly the changes made in Plugchat", async () => {
    const first = await cli(["sync", "--json"]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: "succeeded", accountsTotal: 5, driftCount: 0 });

    const [renamed, gone] = setup.simulator.listIds() as [string, string];
    setup.simulator.setAccount(renamed, {
      name: "Nome Novo",
      onMessageStatus: "https://hooks.example/status",
    });
    setup.simulator.deleteAccount(gone);
    const second = await cli(["sync"]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/succeeded/);

    const report = await cli(["report", "--drift", "--since", "1h", "--json"]);
    expect(report.code).toBe(0);
    const { runs, drift } = JSON.parse(report.stdout) as {
      runs: unknown[];
      drift: { accountId: string; field: string; from: string | null; to: string | null }[];
    };
    expect(runs).toHaveLength(2);
    expect(drift.map(({ accountId, field, to }) => [accountId, field, to]).sort()).toEqual(
      [
        [gone, "exists", "false"],
        [renamed, "name", "Nome Novo"],
        [renamed, "onMessageStatus", "https://hooks.example/status"],
      ].sort(),
    );

    const table = await cli(["report", "--account", renamed]);
    expect(table.stdout).toContain("Nome Novo");
    expect(table.stdout).not.toContain(gone);

    const byDay = await setup.prisma.$queryRaw<{ field: string; changes: number }[]>`
      SELECT field, changes FROM drift_by_day ORDER BY field`;
    expect(byDay).toEqual([
      { field: "exists", changes: 1 },
      { field: "name", changes: 1 },
      { field: "onMessageStatus", changes: 1 },
    ]);
    const current = await setup.prisma.$queryRaw<{ account_id: string }[]>`
      SELECT account_id FROM account_current_state WHERE last_status = 'not_found'`;
    expect(current).toEqual([{ account_id: gone }]);
  });

  it("sync exits 1 when some accounts fail after retries", async () => {
    setup.simulator.setFault(
      { type: "status", status: 503 },
      { accountId: setup.simulator.listIds()[2] as string },
    );
    try {
      const result = await cli(["sync", "--json"]);
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: "partial", accountsFailed: 1 });
    } finally {
      setup.simulator.clearFaults();
    }
  });

  it("sync exits 1 with one line saying the token was refused, and never prints the token", async () => {
    const result = await cli(["sync"], { PLUGCHAT_TOKEN: "not-the-token-123" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^plugchat-sync: error: Plugchat refused the token \(HTTP 401\)/m);
    expect(`${result.stdout}${result.stderr}`).not.toContain("not-the-token-123");
  });

  it("sync without a token exits 2 with a line saying how to set it", async () => {
    const result = await cli(["sync"], { PLUGCHAT_TOKEN: "" });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      "plugchat-sync: error: no Plugchat token: set PLUGCHAT_TOKEN to your integrator token, or PLUGCHAT_TOKEN_FILE to a file holding it",
    );
  });

  it("report refuses a bad --since and a bad account id with a clear message", async () => {
    const since = await cli(["report", "--since", "yesterday"]);
    expect(since.code).not.toBe(0);
    expect(since.stderr).toMatch(/--since.*90m, 12h, 7d/);
    const account = await cli(["report", "--account", "../etc"]);
    expect(account.code).not.toBe(0);
    expect(account.stderr).toMatch(/not a Plugchat account id/);
  });

  it("a huge or hostile value refused by an option is cut and its control characters shown, exit 2", async () => {
    const huge = "x".repeat(10_000);
    for (const args of [
      ["report", "--since", huge],
      ["report", "--runs", huge],
      ["mismatches", "--field", huge],
      ["accounts", "list", "--status", huge],
      [huge],
      ["report", "--since", `it's ${huge}`],
    ]) {
      const result = await cli(args);
      expect(result.code).toBe(2);
      const [line] = result.stderr.split("\n");
      expect(line?.length).toBeLessThanOrEqual(600);
      expect(line).toMatch(/^error: .*xxx…/);
    }
    const since = await cli(["report", "--since", huge]);
    expect(since.stderr).toContain("is invalid. expected a window such as 90m, 12h, 7d, 2w, or an ISO date");
    const control = await cli(["report", "--since", "\u001b[2Jgone"]);
    expect(control.stderr).toContain("argument '\\x1b[2Jgone' is invalid");
    expect(control.stderr).not.toContain("\u001b");
  });

  it("report --account of an id never tracked says so in one line and exits 1; a known calm account has nothing changed", async () => {
    const unknown = await cli(["report", "--account", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr.trim()).toBe(
      'plugchat-sync: error: no account "nope" here: it was never tracked (plugchat-sync accounts list --all lists every account)',
    );
    expect((await cli(["report", "--account", "nope", "--json"])).code).toBe(1);
    const calm = setup.simulator.listIds().at(-1) as string;
    const known = await cli(["report", "--account", calm, "--since", "2026-01-01"]);
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/Drift since .*\nnothing changed$/m);
  });

  it("help shows each default as a user would write it", async () => {
    const report = await cli(["report", "--help"]);
    expect(report.stdout.replace(/\s+/g, " ")).toContain(
      "--since <window> drift window: 90m, 12h, 7d, 2w or an ISO date (default: 7d)",
    );
    const simulator = await cli(["simulator", "--help"]);
    expect(simulator.stdout.replace(/\s+/g, " ")).toContain(
      "--host <host> address to listen on (default: 127.0.0.1)",
    );
    // Every default shown by any command's help is a plain value, never a quoted string or an instant.
    for (const command of [["report"], ["simulator"], ["trigger"], ["accounts", "list"], ["db", "url"]]) {
      const help = (await cli([...command, "--help"])).stdout.replace(/\s+/g, " ");
      expect(help).not.toMatch(/\(default: "|\(default: \d{4}-\d\d-\d\dT/);
    }
  });

  it("a bad configuration value ends every command with exit 2 and one line per variable", async () => {
    const result = await cli(["migrate"], { SYNC_CONCURRENCY: "abc", HTTP_TIMEOUT_MS: "-1" });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^plugchat-sync: error: invalid configuration: SYNC_CONCURRENCY="abc"/),
      expect.stringMatching(/^plugchat-sync: error: invalid configuration: HTTP_TIMEOUT_MS="-1"/),
    ]);
  });
});
