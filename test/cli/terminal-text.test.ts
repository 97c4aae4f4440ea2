// An account's name is whatever its owner (or anyone who can rename it) typed: with escape sequences
// in it, the built CLI must show them, not let the operator's terminal obey them. JSON keeps the exact
// values.
import { beforeAll, describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";
import { rawControls } from "../helpers/raw-controls.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";

const TOKEN = "terminal-text-token";

const setup = useSimulatorWithDatabase({ token: TOKEN, accounts: 2 });

/** Red, clear the screen, a new window title (OSC ended by BEL), C1 CSI, DEL, a bidi override, a tab,
 * a newline and a carriage return. (Not NUL: PostgreSQL cannot store it, so a sync refuses it.) */
const HOSTILE_NAME =
  "Acme\u001b[31m red\u001b[2J\u001b]0;pwned\u0007 \u009b31m\u007f \u202eevil\u202c\ttab\nline\rover";
const HOSTILE_WEBHOOK = "https://hooks.example/\u202egnp.exe\u001b[0m\u009b";

/** The name as a table cell shows it: on one line, every control character escaped. */
const NAME_SHOWN =
  "Acme\\x1b[31m red\\x1b[2J\\x1b]0;pwned\\x07 \\u009b31m\\x7f \\u202eevil\\u202c\\ttab\\nline\\rover";
/** The name as the drift columns show it: a JSON string, with C1 and bidi as \u escapes too. */
const NAME_QUOTED =
  '"Acme\\u001b[31m red\\u001b[2J\\u001b]0;pwned\\u0007 \\u009b31m\\u007f \\u202eevil\\u202c\\ttab\\nline\\rover"';

function cli(args: string[], stdin?: string) {
  return runCli(
    args,
    inheritedEnv({
      DATABASE_URL: setup.database.url,
      PLUGCHAT_BASE_URL: setup.simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      LOG_LEVEL: "warn",
    }),
    stdin,
  );
}

let renamed: string;

beforeAll(async () => {
  expect((await cli(["sync"])).code).toBe(0);
  renamed = setup.simulator.listIds()[0] as string;
  setup.simulator.setAccount(renamed, { name: HOSTILE_NAME, onMessageStatus: HOSTILE_WEBHOOK });
  expect((await cli(["sync"])).code).toBe(0);
});

describe("control characters from Plugchat on the terminal", () => {
  it("report --drift shows the hostile name and webhook escaped, each drift row on its one line", async () => {
    const report = await cli(["report", "--drift", "--since", "1h"]);
    expect(report.code).toBe(0);
    expect(rawControls(report.stdout)).toEqual([]);
    const rows = report.stdout.split("\n").filter((line) => line.includes(` ${renamed} `));
    expect(rows).toHaveLength(2);
    const nameRow = rows.find((row) => row.includes(" name "));
    expect(nameRow).toContain(`${NAME_SHOWN}  name`);
    expect(nameRow).toMatch(new RegExp(`${escapeRegExp(NAME_QUOTED)}\\s+#2$`));
    expect(rows.find((row) => row.includes(" onMessageStatus "))).toContain(
      '"https://hooks.example/\\u202egnp.exe\\u001b[0m\\u009b"',
    );
  });

  it("report --drift --json gives the exact hostile values, in JSON that is safe to print", async () => {
    const report = await cli(["report", "--drift", "--since", "1h", "--json"]);
    expect(report.code).toBe(0);
    expect(rawControls(report.stdout)).toEqual([]);
    const { drift } = JSON.parse(report.stdout) as {
      drift: { accountId: string; accountName: string | null; field: string; to: string | null }[];
    };
    const mine = drift.filter((entry) => entry.accountId === renamed);
    expect(mine.map((entry) => entry.accountName)).toEqual([HOSTILE_NAME, HOSTILE_NAME]);
    expect(Object.fromEntries(mine.map((entry) => [entry.field, entry.to]))).toEqual({
      name: HOSTILE_NAME,
      onMessageStatus: HOSTILE_WEBHOOK,
    });
  });

  it("accounts list shows the hostile name escaped, each account on its one line", async () => {
    const list = await cli(["accounts", "list"]);
    expect(list.code).toBe(0);
    expect(rawControls(list.stdout)).toEqual([]);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.find((line) => line.startsWith(renamed))?.endsWith(`  ${NAME_SHOWN}`)).toBe(true);
    expect(lines.at(-1)).toBe("2 accounts");
  });

  it("accounts list --json gives the exact hostile name, in JSON that is safe to print", async () => {
    const list = await cli(["accounts", "list", "--json"]);
    expect(list.code).toBe(0);
    expect(rawControls(list.stdout)).toEqual([]);
    const rows = JSON.parse(list.stdout) as { id: string; name: string | null }[];
    expect(rows.find((row) => row.id === renamed)?.name).toBe(HOSTILE_NAME);
  });

  it("an error quoting a hostile value shows it escaped, on its one line", async () => {
    const exit = await cli(["accounts", "import", "-"], "bad\u009b\u202e\u001b[2J\u007fid\n");
    expect(exit.code).toBe(1);
    expect(rawControls(exit.stderr)).toEqual([]);
    expect(exit.stderr).toContain(
      'plugchat-sync: error: line 1: "bad\\u009b\\u202e\\u001b[2J\\u007fid" is not',
    );
  });

  it("the error printer escapes what a message holds raw (a path with C1 and bidi characters)", async () => {
    const exit = await cli(["accounts", "import", "/nonexistent/x\u009b\u202e\u0007.txt"]);
    expect(exit.code).toBe(1);
    expect(rawControls(exit.stderr)).toEqual([]);
    expect(exit.stderr).toBe(
      'plugchat-sync: error: cannot read "/nonexistent/x\\u009b\\u202e\\u0007.txt": no such file: check the path\n',
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
