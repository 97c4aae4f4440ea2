// The account source as a user meets it: the built CLI with ACCOUNT_SOURCE_URL and ACCOUNT_SOURCE_QUERY
// set, against a real PostgreSQL source, the real sync database and the Plugchat simulator.
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { closedPort } from "../helpers/free-port.js";

const TOKEN = "tok-source-cli-5x9Q";
const PASSWORD = "srcpw-Hk27mv";
let sourcePassword = PASSWORD;
const QUERY = "SELECT plugchat_account_id FROM customers WHERE plugchat_account_id IS NOT NULL";

let simulator: Simulator;
let sync: TestDatabase;
let source: TestDatabase;
let sourceUrl: string;
let prisma: PrismaClient;
let ids: string[];
const outputs: string[] = [];

async function sourceQuery(sql: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}

async function setCustomers(accountIds: readonly string[]): Promise<void> {
  await sourceQuery("DELETE FROM customers");
  await sourceQuery("INSERT INTO customers (plugchat_account_id) SELECT unnest($1::text[])", [accountIds]);
}

async function cli(args: string[], env: Record<string, string> = {}, stdin = "") {
  const exit = await runCli(
    args,
    {
      ...process.env,
      DATABASE_URL: sync.url,
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_MAX_ATTEMPTS: "2",
      LOG_LEVEL: "warn",
      LOG_PRETTY: "false",
      ACCOUNT_SOURCE_URL: sourceUrl,
      ACCOUNT_SOURCE_QUERY: QUERY,
      ...env,
    },
    stdin,
  );
  outputs.push(exit.stdout, exit.stderr);
  return exit;
}

async function tracked(): Promise<string[]> {
  const rows = await prisma.account.findMany({ where: { tracked: true }, orderBy: { id: "asc" } });
  return rows.map((row) => row.id);
}

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: 4 });
  ids = [...simulator.listIds()].sort();
  sync = await createMigratedTestDatabase();
  prisma = createPrismaClient(sync.url);
  source = await createTestDatabase();
  await sourceQuery("CREATE TABLE customers (id serial PRIMARY KEY, name text, plugchat_account_id text)");
  // The machine's PostgreSQL trusts local connections, so the password is ignored there (an embedded
  // test server has a password of its own, kept); either way it must never show.
  const url = new URL(source.url);
  if (url.password === "") url.password = PASSWORD;
  sourceUrl = url.toString();
  sourcePassword = decodeURIComponent(url.password);
});

afterAll(async () => {
  await prisma?.$disconnect();
  await sync?.drop();
  await source?.drop();
  await simulator?.close();
});

beforeEach(() => {
  outputs.length = 0;
});

describe("the account source from the command line", () => {
  it("source check prints what a run would change and changes nothing; sync then applies it first", async () => {
    await setCustomers([ids[0], ids[1], ids[2], null, "not an id"] as string[]);
    const check = await cli(["accounts", "source", "check"]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(
      `account source: PostgreSQL at 127.0.0.1:${new URL(sourceUrl).port || 5432}/`,
    );
    expect(check.stdout).toContain("3 account ids returned (0 NULL, 0 duplicates, 1 invalid: skipped)");
    expect(check.stdout).toContain('invalid: "not an id" (not 1 to 128 ASCII letters');
    expect(check.stdout).toContain("a run would apply: 3 added, 0 re-tracked, 0 untracked, of 0 tracked now");
    expect(check.stdout).toContain(`added: ${ids.slice(0, 3).join(", ")}`);
    expect(await tracked(), "a check changes nothing").toEqual([]);

    const run = await cli(["sync", "--json"]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      status: "succeeded",
      accountsTotal: 3,
      accountSource: { outcome: "applied", ids: 3, added: 3, removed: 0, invalid: 1 },
    });
    expect(await tracked()).toEqual(ids.slice(0, 3));
  });

  it("an emptied source is refused by the removal limit: the run syncs the current set, and report says why", async () => {
    await setCustomers([]);
    const run = await cli(["sync"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /account source: refused: the source would untrack 3 of 3 tracked accounts \(100%\), above the removal limit of 25%/,
    );
    expect(run.stderr).toContain("account source refused by the removal limit");
    expect(await tracked()).toEqual(ids.slice(0, 3));

    const report = await cli(["report", "--runs", "2"]);
    expect(report.stdout).toMatch(/source/);
    expect(report.stdout).toMatch(/refused/);
    expect(report.stdout).toMatch(/#\d+ account source refused: the source would untrack 3 of 3/);
    expect(report.stdout).toMatch(/\+3 -0 \(1 invalid\)/);

    const check = await cli(["accounts", "source", "check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(
      "a run would change nothing: it would refuse 0 added, 0 re-tracked, 3 untracked",
    );
  });

  it("accounts import --replace follows a file within the same limit, and --force goes past it", async () => {
    const refused = await cli(["accounts", "import", "--replace", "-"], {}, `${ids[0]}\n`);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^plugchat-sync: error: the source would untrack 2 of 3 .*then pass --force if the file is right$/,
      ),
    ]);
    expect(await tracked()).toEqual(ids.slice(0, 3));

    const forced = await cli(
      ["accounts", "import", "--replace", "--force", "-"],
      {},
      `${ids[0]}\n${ids[3]}\n`,
    );
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(
      "replaced the tracked accounts with standard input: 1 added, 0 re-tracked, 2 untracked, 1 already tracked",
    );
    expect(forced.stderr).toContain(
      "ACCOUNT_SOURCE_URL is set: the next run makes the tracked accounts equal to the source's ids again",
    );
    expect(await tracked()).toEqual([ids[0], ids[3]]);

    const comeback = await cli(
      ["accounts", "import", "--replace", "-"],
      {},
      `${ids[0]}\n${ids[1]}\n${ids[3]}\n`,
    );
    expect(comeback.stdout).toContain("0 added, 1 re-tracked, 0 untracked, 2 already tracked");
  });

  it("an unreachable source: the run goes on with the current set, and says so in one warn line", async () => {
    const port = await closedPort();
    const before = await tracked();
    const run = await cli(["sync"], {
      ACCOUNT_SOURCE_URL: `postgresql://crm:${PASSWORD}@127.0.0.1:${port}/crm`,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /account source: skipped: the account source \(PostgreSQL at 127\.0\.0\.1:\d+\/crm\) is unreachable/,
    );
    expect(run.stderr).toContain(
      "account source skipped: the run goes on with the tracked accounts as they were",
    );
    expect(await tracked()).toEqual(before);
  });

  it("refuses half a source configuration, and a check without one, in one line each", async () => {
    const half = await cli(["sync"], { ACCOUNT_SOURCE_QUERY: "" });
    expect(half.code).toBe(2);
    expect(half.stderr.trim()).toMatch(
      /^plugchat-sync: error: invalid configuration: ACCOUNT_SOURCE_URL is set but ACCOUNT_SOURCE_QUERY is not: set both/,
    );
    const none = await cli(["accounts", "source", "check"], {
      ACCOUNT_SOURCE_URL: "",
      ACCOUNT_SOURCE_QUERY: "",
    });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toMatch(
      /^plugchat-sync: error: no account source is configured: set ACCOUNT_SOURCE_URL/,
    );
  });

  it("source check names the expected fields, and refuses a column that names no field in one line", async () => {
    const expecting = `SELECT plugchat_account_id, name AS NAME FROM customers WHERE plugchat_account_id IS NOT NULL`;
    const check = await cli(["accounts", "source", "check"], { ACCOUNT_SOURCE_QUERY: expecting });
    expect(check.stdout).toContain("expected values: name (and that each account exists); 0 invalid skipped");

    const misnamed = `SELECT plugchat_account_id, name AS customer_name FROM customers`;
    const refused = await cli(["accounts", "source", "check"], { ACCOUNT_SOURCE_QUERY: misnamed });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    const [error, ...rest] = refused.stderr
      .trim()
      .split("\n")
      .filter((line) => !line.includes("warning:"));
    expect(rest).toEqual([]);
    expect(error).toMatch(
      /^plugchat-sync: error: ACCOUNT_SOURCE_QUERY has a column "customer_name" that names no synced field: .*externalId \(external_id\), name \(name\), active/,
    );

    // A run skips the source for it, and says so with the same line.
    const run = await cli(["sync", "--json"], { ACCOUNT_SOURCE_QUERY: misnamed });
    expect(JSON.parse(run.stdout).accountSource).toMatchObject({
      outcome: "skipped",
      error: expect.stringMatching(/^ACCOUNT_SOURCE_QUERY has a column "customer_name"/),
    });
  });

  it("never prints the token or the source's password, nor stores them", async () => {
    await cli(["sync", "--json"], { LOG_LEVEL: "debug" });
    await cli(["accounts", "source", "check"], { LOG_LEVEL: "debug" });
    await cli(["accounts", "source", "check"], {
      ACCOUNT_SOURCE_QUERY: "SELECT plugchat_account_id, 1 AS oops FROM customers",
    });
    await cli(["report", "--json"]);
    const everything = outputs.join("\n");
    expect(everything.length).toBeGreaterThan(0);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(sourcePassword);
    const runs = JSON.stringify(await prisma.syncRun.findMany());
    expect(runs).not.toContain(PASSWORD);
    expect(runs).not.toContain(sourcePassword);
    expect(runs).not.toContain(TOKEN);
  });
});
