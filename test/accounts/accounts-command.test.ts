// The `accounts` command run in this process, against a real database: what it writes, prints and
// refuses. `cli.test.ts` runs the built CLI as a real process.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { accountsCommand } from "../../src/cli/commands/accounts.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { UserFacingError } from "../../src/errors.js";
import { createMigratedTestDatabase } from "../helpers/databases.js";

let database: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let dir: string;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  dir = await mkdtemp(join(tmpdir(), "plugchat-accounts-"));
  // The command reads its config from the environment once per process (one test file here).
  vi.stubEnv("DATABASE_URL", database.url);
  vi.stubEnv("LOG_LEVEL", "silent");
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await prisma?.$disconnect();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await prisma.$executeRaw`TRUNCATE account_versions, account_drift, account_expectations, account_mismatch_spans, sync_runs, accounts`;
});

interface Outcome {
  stdout: string;
  stderr: string;
  error?: unknown;
}

async function run(...args: string[]): Promise<Outcome> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (sink: string[]) =>
    ((chunk: string | Uint8Array) => {
      sink.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture(stdout));
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture(stderr));
  try {
    // Commander would exit the process on a usage error; thrown instead, it can be checked.
    const command = accountsCommand().exitOverride();
    for (const sub of command.commands) sub.exitOverride();
    await command.parseAsync(args, { from: "user" });
    return { stdout: stdout.join(""), stderr: stderr.join("") };
  } catch (error) {
    return { stdout: stdout.join(""), stderr: stderr.join(""), error };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const tracked = async () =>
  (await prisma.account.findMany({ where: { tracked: true }, orderBy: { id: "asc" } })).map((row) => row.id);

describe("accounts import", () => {
  it("imports a file, then counts the ids already there when it is imported again", async () => {
    const ids = await file("ids.txt", "# ids\nacc-1\nacc-2\n\nacc-1\nacc-3\n");
    expect(await run("import", ids)).toEqual({
      stdout: `imported ${JSON.stringify(ids)}: 3 added, 0 re-tracked, 0 already tracked, 0 invalid skipped, 1 duplicates ignored\n`,
      stderr: "",
    });
    const more = await file("more.csv", 'name,accountId\n"Two, Inc.",acc-2\nFour,acc-4\n');
    // name is a synced field: its column holds the values the accounts are expected to have.
    expect((await run("import", more)).stdout).toBe(
      `imported ${JSON.stringify(more)}: 1 added, 0 re-tracked, 1 already tracked, 0 invalid skipped, 0 duplicates ignored; expected values: name for 2 accounts (2 changed, 0 unchanged)\n`,
    );
    expect(await tracked()).toEqual(["acc-1", "acc-2", "acc-3", "acc-4"]);
  });

  it("tracks a removed id again", async () => {
    await run("add", "acc-1", "acc-2");
    await run("remove", "acc-1");
    const ids = await file("again.txt", "acc-1\nacc-2\nacc-5\n");
    expect((await run("import", ids)).stdout).toMatch(/: 1 added, 1 re-tracked, 1 already tracked,/);
    expect(await tracked()).toEqual(["acc-1", "acc-2", "acc-5"]);
  });

  it("imports nothing when an id is invalid, and lists the lines", async () => {
    const lines = ["acc-1", "acc-2", ...Array.from({ length: 24 }, (_, index) => `bad id ${index}`), "acc-3"];
    const ids = await file("bad.txt", lines.join("\n"));
    const outcome = await run("import", ids);
    expect(outcome.stdout).toBe("");
    expect(outcome.error).toBeInstanceOf(UserFacingError);
    const message = (outcome.error as Error).message.split("\n");
    expect(message[0]).toBe(
      `${JSON.stringify(ids)} has 24 invalid account ids, nothing was imported: fix them, or pass --skip-invalid to import the valid ones (an account id is 1 to 128 ASCII letters, digits, "-" or "_")`,
    );
    expect(message[1]).toBe('line 3: "bad id 0" is not a valid account id');
    expect(message[20]).toBe('line 22: "bad id 19" is not a valid account id');
    expect(message[21]).toBe("and 4 more");
    expect(message).toHaveLength(22);
    expect(await prisma.account.count()).toBe(0);
  });

  it("imports the valid ids with --skip-invalid and warns about the others", async () => {
    const ids = await file("mixed.txt", "acc-1\nnot valid!\nacc-2\n");
    const outcome = await run("import", "--skip-invalid", ids);
    expect(outcome.error).toBeUndefined();
    expect(outcome.stdout).toMatch(
      /: 2 added, 0 re-tracked, 0 already tracked, 1 invalid skipped, 0 duplicates ignored\n$/,
    );
    expect(outcome.stderr).toBe(
      'plugchat-sync: warning: skipped line 2: "not valid!" is not a valid account id\n',
    );
    expect(await tracked()).toEqual(["acc-1", "acc-2"]);
  });

  it("says so when the file has no ids", async () => {
    const empty = await file("empty.csv", "# nothing yet\naccountId\n");
    expect(await run("import", empty)).toEqual({
      stdout: `no account ids in ${JSON.stringify(empty)}: nothing to import\n`,
      stderr: "",
    });
  });

  it("fails with one clear line on a missing file or a CSV without an id column", async () => {
    const missing = await run("import", join(dir, "nope.txt"));
    expect((missing.error as Error).message).toBe(
      `cannot read ${JSON.stringify(join(dir, "nope.txt"))}: no such file: check the path`,
    );
    const noColumn = await run("import", await file("people.csv", "name,email\nA,a@example.com\n"));
    expect(noColumn.error).toBeInstanceOf(UserFacingError);
    expect((noColumn.error as Error).message).toMatch(/^line 1: .* has no accountId or id column/);
  });

  it("imports 20,000 ids, in several batches, in one go", async () => {
    const ids = Array.from({ length: 20_000 }, (_, index) => `bulk-${index}`);
    const path = await file("bulk.csv", `accountId,note\n${ids.map((id) => `${id},x`).join("\n")}\n`);
    expect((await run("import", path)).stdout).toMatch(/: 20000 added, 0 re-tracked, 0 already tracked,/);
    expect(await prisma.account.count({ where: { tracked: true } })).toBe(20_000);
    expect((await run("import", path)).stdout).toMatch(/: 0 added, 0 re-tracked, 20000 already tracked,/);
  });
});

describe("accounts add", () => {
  it("adds ids and reports those already tracked or tracked again", async () => {
    expect((await run("add", "acc-1", "acc-2")).stdout).toBe("2 added, 0 re-tracked, 0 already tracked\n");
    await prisma.account.update({ where: { id: "acc-2" }, data: { tracked: false } });
    expect((await run("add", "acc-1", "acc-2", "acc-3")).stdout).toBe(
      "1 added, 1 re-tracked, 1 already tracked\n",
    );
  });

  it("adds nothing when an id is invalid", async () => {
    const outcome = await run("add", "acc-1", "a b", "../x");
    expect((outcome.error as Error).message).toBe(
      '2 invalid account ids, nothing was added: "a b", "../x" (an account id is 1 to 128 ASCII letters, digits, "-" or "_")',
    );
    expect(await prisma.account.count()).toBe(0);
  });
});

describe("accounts remove", () => {
  it("stops tracking, keeps the row and its drift, and reports unknown ids", async () => {
    await run("add", "acc-1", "acc-2");
    const [syncRun] = await prisma.$queryRaw<{ id: number }[]>`
      INSERT INTO sync_runs (trigger, status, finished_at) VALUES ('cli', 'succeeded', now()) RETURNING id`;
    await prisma.$executeRaw`
      INSERT INTO account_drift (account_id, sync_run_id, field, old_value, new_value)
      VALUES ('acc-1', ${syncRun?.id}, 'onReceiveMessage', 'https://old', 'https://new')`;

    const outcome = await run("remove", "acc-1", "typo-1");
    expect(outcome).toEqual({
      stdout: "1 removed, 0 already removed, 1 unknown\n",
      stderr: "plugchat-sync: warning: not tracked: typo-1 (no such account)\n",
    });
    expect(await tracked()).toEqual(["acc-2"]);
    expect(await prisma.account.findUnique({ where: { id: "acc-1" } })).toMatchObject({ tracked: false });
    expect(await prisma.accountDrift.count({ where: { accountId: "acc-1" } })).toBe(1);
    expect((await run("remove", "acc-1")).stdout).toBe("0 removed, 1 already removed, 0 unknown\n");
  });

  it("removes nothing when an id is invalid", async () => {
    await run("add", "acc-1");
    expect((await run("remove", "acc-1", "a/b")).error).toBeInstanceOf(UserFacingError);
    expect(await tracked()).toEqual(["acc-1"]);
  });
});

describe("accounts list", () => {
  beforeEach(async () => {
    await run("add", "acc-b", "acc-a", "acc-c", "acc-d");
    await prisma.account.update({
      where: { id: "acc-a" },
      data: { lastStatus: "ok", name: "Alpha", active: true, lastSyncedAt: new Date("2026-11-24T05:00:00Z") },
    });
    await prisma.account.update({
      where: { id: "acc-b" },
      data: { lastStatus: "failed", consecutiveFailures: 3, lastError: "HTTP 503" },
    });
    await prisma.account.update({ where: { id: "acc-d" }, data: { lastStatus: "ok", tracked: false } });
  });

  it("prints a table of the tracked accounts in id order", async () => {
    expect((await run("list")).stdout).toBe(
      [
        "ID     STATUS   ACTIVE  LAST SYNCED           FAILURES  NAME",
        "acc-a  ok       yes     2026-11-24 05:00:00Z  0         Alpha",
        "acc-b  failed   -       never                 3",
        "acc-c  pending  -       never                 0",
        "3 accounts",
        "",
      ].join("\n"),
    );
  });

  it("filters by status, includes removed accounts with --all", async () => {
    const okOnly = (await run("list", "--status", "ok", "--all")).stdout.split("\n");
    expect(okOnly[0]).toMatch(/^ID\s+TRACKED\s+STATUS/);
    expect(okOnly.slice(1)).toEqual([
      expect.stringMatching(/^acc-a\s+yes\s+ok\s/),
      expect.stringMatching(/^acc-d\s+removed\s+ok\s/),
      "2 accounts",
      "",
    ]);
    expect((await run("list", "--status", "not_found")).stdout).toBe("no tracked accounts\n");
  });

  it("prints only a JSON array with --json", async () => {
    const { stdout, stderr } = await run("list", "--json", "--status", "failed");
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual([
      {
        id: "acc-b",
        tracked: true,
        status: "failed",
        name: null,
        active: null,
        externalId: null,
        lastSyncedAt: null,
        lastAttemptAt: null,
        consecutiveFailures: 3,
        lastError: "HTTP 503",
        missingSince: null,
        addedAt: expect.any(String),
      },
    ]);
    expect(
      JSON.parse((await run("list", "--json", "--all")).stdout).map((row: { id: string }) => row.id),
    ).toEqual(["acc-a", "acc-b", "acc-c", "acc-d"]);
    expect(JSON.parse((await run("list", "--json", "--status", "not_found")).stdout)).toEqual([]);
  });

  it("refuses an unknown --status", async () => {
    const outcome = await run("list", "--status", "broken");
    expect(outcome.error).toMatchObject({ code: "commander.invalidArgument" });
    expect(outcome.stderr).toMatch(/Allowed choices are pending, ok, not_found, failed/);
  });
});
