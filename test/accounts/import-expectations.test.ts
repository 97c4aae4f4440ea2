// Expected values from a CSV, as a user meets them: the built CLI imports a file whose columns are
// named after synced fields into account_expectations (merged, or with --replace made exactly the
// file's), then `sync` against the Plugchat simulator compares them with Plugchat's (account_mismatches).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { type CliExit, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";

const TOKEN = "tok-import-expectations-7Qw";

let simulator: Simulator;
let database: TestDatabase;
let prisma: PrismaClient;
let dir: string;

beforeAll(async () => {
  simulator = await startSimulator({ token: TOKEN, accounts: 0 });
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  dir = await mkdtemp(join(tmpdir(), "plugchat-import-expectations-"));
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
  await simulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await prisma.$executeRaw`TRUNCATE account_versions, account_drift, account_expectations, account_mismatch_spans, sync_runs, accounts`;
});

function cli(args: string[], stdin = "", env: Record<string, string> = {}): Promise<CliExit> {
  return runCli(
    args,
    {
      ...process.env,
      DATABASE_URL: database.url,
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: TOKEN,
      SYNC_MAX_ATTEMPTS: "1",
      ACCOUNT_SOURCE_MAX_REMOVAL: "1",
      LOG_LEVEL: "warn",
      LOG_PRETTY: "false",
      ...env,
    },
    stdin,
  );
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** account_expectations as `id field value` lines, in order. */
async function stored(): Promise<string[]> {
  const rows = await prisma.accountExpectation.findMany({
    orderBy: [{ accountId: "asc" }, { field: "asc" }],
  });
  return rows.map((row) => `${row.accountId} ${row.field} ${JSON.stringify(row.expectedValue)}`);
}

const FIRST_CSV = [
  "externalId,Active,accountId,crm_owner,on_receive_message",
  'k1,true,acc-1,Ann,""',
  "k2,0,acc-2,Bob,https://hooks.example/2",
  ",1,acc-3,Cid,",
].join("\n");

const FIRST_STORED = [
  'acc-1 active "true"',
  'acc-1 exists "true"',
  'acc-1 externalId "k1"',
  'acc-1 onReceiveMessage ""',
  'acc-2 active "false"',
  'acc-2 exists "true"',
  'acc-2 externalId "k2"',
  'acc-2 onReceiveMessage "https://hooks.example/2"',
  'acc-3 active "true"',
  'acc-3 exists "true"',
  "acc-3 externalId null",
  "acc-3 onReceiveMessage null",
];

describe("accounts import of a CSV with expected values (built CLI)", () => {
  it("stores exactly the file's expected values for its ids, and says how many accounts changed", async () => {
    const path = await file("first.csv", FIRST_CSV);
    const exit = await cli(["accounts", "import", path]);
    expect(exit).toMatchObject({ code: 0, stderr: "" });
    expect(exit.stdout).toBe(
      `imported ${JSON.stringify(path)}: 3 added, 0 re-tracked, 0 already tracked, 0 invalid skipped, 0 duplicates ignored; expected values: externalId, active, onReceiveMessage for 3 accounts (3 changed, 0 unchanged)\n`,
    );
    // crm_owner names no synced field: ignored. "" expects the empty string, an empty cell null.
    expect(await stored()).toEqual(FIRST_STORED);

    const again = await cli(["accounts", "import", path]);
    expect(again.stdout).toMatch(/; expected values: .* for 3 accounts \(0 changed, 3 unchanged\)\n$/);
  });

  it("merges a second file without --replace: its values added or updated, the others kept", async () => {
    await cli(["accounts", "import", await file("first.csv", FIRST_CSV)]);
    const exit = await cli(
      ["accounts", "import", "-"],
      'account_id,NAME,external_id\nacc-1,"Shop, One",k1-new\n',
    );
    expect(exit.stdout).toMatch(
      /: 0 added, 0 re-tracked, 1 already tracked, .*; expected values: name, externalId for 1 account \(1 changed, 0 unchanged\)\n$/,
    );
    expect(await stored()).toEqual(
      FIRST_STORED.map((line) => (line === 'acc-1 externalId "k1"' ? 'acc-1 externalId "k1-new"' : line))
        .concat('acc-1 name "Shop, One"')
        .sort(),
    );
  });

  it("with --replace, makes them exactly the file's: a value or an account absent from it loses its expectation", async () => {
    await cli(["accounts", "import", await file("first.csv", FIRST_CSV)]);
    const exit = await cli(
      ["accounts", "import", "--replace", "-"],
      "accountId,active\nacc-1,true\nacc-2,1\n",
    );
    expect(exit.code).toBe(0);
    expect(exit.stdout).toBe(
      "replaced the tracked accounts with standard input: 0 added, 0 re-tracked, 1 untracked, 2 already tracked; 0 invalid skipped, 0 duplicates ignored; expected values: active for 2 accounts (2 changed, 0 unchanged), removed from 1 other account\n",
    );
    expect(await stored()).toEqual([
      'acc-1 active "true"',
      'acc-1 exists "true"',
      'acc-2 active "true"',
      'acc-2 exists "true"',
    ]);

    const plain = await cli(["accounts", "import", "--replace", "-"], "acc-1\nacc-2\n");
    expect(plain.stdout).toMatch(
      /; expected values removed from 2 accounts: the file has no expected value columns\n$/,
    );
    expect(await stored()).toEqual([]);
  });

  it("refuses a value its field cannot take, with its line number, importing nothing; --skip-invalid skips only that value", async () => {
    const path = await file("bad.csv", "accountId,active,name\nacc-1,true,One\n\nacc-2,maybe,Two\n");
    const refused = await cli(["accounts", "import", path]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toBe(
      [
        `plugchat-sync: error: ${JSON.stringify(path)} has 1 invalid expected value, nothing was imported: fix them, or pass --skip-invalid to import the valid ones (an expected active is true, false, 1 or 0)`,
        'plugchat-sync: error: line 4: active "maybe" is not a boolean (true, false, 1 or 0)',
        "",
      ].join("\n"),
    );
    expect(await prisma.account.count()).toBe(0);
    expect(await stored()).toEqual([]);

    const skipping = await cli(["accounts", "import", "--skip-invalid", path]);
    expect(skipping.code).toBe(0);
    expect(skipping.stderr).toBe(
      'plugchat-sync: warning: skipped line 4: active "maybe" is not a boolean (true, false, 1 or 0)\n',
    );
    expect(skipping.stdout).toMatch(
      /: 2 added, .*; expected values: active, name for 2 accounts \(2 changed, 0 unchanged, 1 invalid value skipped\)\n$/,
    );
    expect(await stored()).toEqual([
      'acc-1 active "true"',
      'acc-1 exists "true"',
      'acc-1 name "One"',
      'acc-2 exists "true"',
      'acc-2 name "Two"',
    ]);
  });

  it("warns that the next run replaces them when an account source is configured", async () => {
    // Never connected to by an import: only its being configured matters.
    const source = {
      ACCOUNT_SOURCE_URL: "postgresql://crm@127.0.0.1:1/crm",
      ACCOUNT_SOURCE_QUERY: "SELECT id FROM c",
    };
    const exit = await cli(["accounts", "import", "-"], "accountId,name\nacc-1,One\n", source);
    expect(exit).toMatchObject({
      code: 0,
      stderr:
        "plugchat-sync: warning: ACCOUNT_SOURCE_URL is set: the next run replaces the expected values with those of ACCOUNT_SOURCE_QUERY\n",
    });
    const plain = await cli(["accounts", "import", "-"], "acc-2\n", source);
    expect(plain).toMatchObject({ code: 0, stderr: "" });
  });

  it("end to end: a value Plugchat does not have is a mismatch after the next sync, and goes once the file agrees", async () => {
    simulator.setAccount("acc-1", { externalId: "k1", active: true, onReceiveMessage: null });
    simulator.setAccount("acc-2", { externalId: "k-wrong", active: false, onReceiveMessage: null });
    const csv = "accountId,externalId,active\nacc-1,k1,true\nacc-2,k2,false\n";
    expect((await cli(["accounts", "import", await file("e2e.csv", csv)])).code).toBe(0);

    const sync = await cli(["sync"]);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain("mismatches with your records");
    const mismatches = () =>
      prisma.$queryRaw<
        { account_id: string; field: string; expected: string | null; actual: string | null }[]
      >`
        SELECT account_id, field, expected, actual FROM account_mismatches ORDER BY account_id, field`;
    expect(await mismatches()).toEqual([
      { account_id: "acc-2", field: "externalId", expected: "k2", actual: "k-wrong" },
    ]);

    // The records are fixed by importing the value Plugchat has: the next sync resolves it.
    await cli(["accounts", "import", "-"], "accountId,externalId\nacc-2,k-wrong\n");
    expect((await cli(["sync"])).code).toBe(0);
    expect(await mismatches()).toEqual([]);
  });
});
