// `plugchat-sync sync` as a user runs it, with Plugchat stopped: the PLUGCHAT_OUTAGE_* settings reach
// the run, which ends failed "Plugchat unreachable" in a few log lines, the accounts left as they were.
import { describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/free-port.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";

const TOKEN = "cli-outage-token";
const ACCOUNTS = 300;

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

function sync(baseUrl: string) {
  return runCli(
    ["sync", "--json"],
    inheritedEnv({
      DATABASE_URL: setup.database.url,
      PLUGCHAT_BASE_URL: baseUrl,
      PLUGCHAT_TOKEN: TOKEN,
      LOG_LEVEL: "info",
      LOG_PRETTY: "false",
      PLUGCHAT_OUTAGE_AFTER: "5",
      PLUGCHAT_OUTAGE_PROBE_MS: "200",
      PLUGCHAT_OUTAGE_GIVE_UP_MS: "1000",
    }),
  );
}

describe("plugchat-sync sync with Plugchat stopped", () => {
  it("exits 1 with the run failed 'Plugchat unreachable', one warn line for the outage, no retry lines, the accounts left as they were", async () => {
    expect((await sync(setup.simulator.url)).code).toBe(0);
    const before = await setup.prisma.account.findMany({ orderBy: { id: "asc" } });

    const result = await sync(`http://127.0.0.1:${await freePort()}`);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: "failed",
      accountsTotal: 0,
      accountsFailed: 0,
    });
    expect(result.stderr).toMatch(
      /^plugchat-sync: error: Plugchat unreachable: \d+ requests failed in a row/m,
    );
    const logLines = result.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    const failing = logLines.filter((line) => line.msg.startsWith("Plugchat is failing: 5 requests"));
    expect(failing).toHaveLength(1);
    // sync run started, the outage, the run's end: nothing per account or per retry.
    expect(logLines.map((line) => line.level)).toEqual(["info", "warn", "error"]);
    expect(await setup.prisma.account.findMany({ orderBy: { id: "asc" } })).toEqual(before);
  });
});
