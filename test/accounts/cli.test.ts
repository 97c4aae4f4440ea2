// The built CLI as a real process: exit codes, and what lands on stdout and stderr.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { type CliExit, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase } from "../helpers/databases.js";

let database: { url: string; drop(): Promise<void> };
let prisma: PrismaClient;
let dir: string;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  dir = await mkdtemp(join(tmpdir(), "plugchat-accounts-cli-"));
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], stdin = ""): Promise<CliExit> {
  return runCli(args, { ...process.env, DATABASE_URL: database.url, LOG_PRETTY: "false" }, stdin);
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("plugchat-sync accounts (built CLI)", () => {
  it("imports a file and exits 0", async () => {
    const path = await file("ids.txt", "# first batch\ncli-1\ncli-2\n\ncli-3\n");
    const exit = await cli(["accounts", "import", path]);
    expect(exit).toMatchObject({ code: 0 });
    expect(exit.stdout).toBe(
      `imported ${JSON.stringify(path)}: 3 added, 0 re-tracked, 0 already tracked, 0 invalid skipped, 0 duplicates ignored\n`,
    );
    expect(await prisma.account.count({ where: { id: { startsWith: "cli-" } } })).toBe(3);
  });

  it('reads standard input for "-"', async () => {
    const exit = await cli(["accounts", "import", "-"], "accountId,owner\ncli-3,Three\ncli-4,Four\n");
    expect(exit).toMatchObject({
      code: 0,
      stdout:
        "imported standard input: 1 added, 0 re-tracked, 1 already tracked, 0 invalid skipped, 0 duplicates ignored\n",
    });
  });

  it("exits 1 with the line number on stderr and imports nothing when an id is invalid", async () => {
    const path = await file("bad.txt", "cli-5\ncli-6\nnot/valid\ncli-7\n");
    const exit = await cli(["accounts", "import", path]);
    expect(exit).toMatchObject({ code: 1, stdout: "" });
    expect(exit.stderr).toContain(
      `plugchat-sync: error: ${JSON.stringify(path)} has 1 invalid account id, nothing was imported`,
    );
    expect(exit.stderr).toContain('plugchat-sync: error: line 3: "not/valid" is not a valid account id\n');
    expect(await prisma.account.count({ where: { id: { in: ["cli-5", "cli-6", "cli-7"] } } })).toBe(0);
  });

  it("exits 1 with one line for a missing file", async () => {
    const missing = join(dir, "missing.txt");
    expect(await cli(["accounts", "import", missing])).toEqual({
      code: 1,
      stdout: "",
      stderr: `plugchat-sync: error: cannot read ${JSON.stringify(missing)}: no such file: check the path\n`,
    });
  });

  it("lists as JSON with nothing else on stdout, and refuses an unknown status", async () => {
    const exit = await cli(["accounts", "list", "--json"]);
    expect(exit).toMatchObject({ code: 0 });
    expect((JSON.parse(exit.stdout) as { id: string }[]).map((row) => row.id)).toEqual([
      "cli-1",
      "cli-2",
      "cli-3",
      "cli-4",
    ]);
    const bad = await cli(["accounts", "list", "--status", "broken"]);
    expect(bad).toMatchObject({ code: 2, stdout: "" });
    expect(bad.stderr).toMatch(
      /argument 'broken' is invalid\. Allowed choices are pending, ok, not_found, failed/,
    );
  });

  it("removes an id, exiting 0 and warning about an unknown one", async () => {
    const exit = await cli(["accounts", "remove", "cli-4", "cli-404"]);
    expect(exit).toEqual({
      code: 0,
      stdout: "1 removed, 0 already removed, 1 unknown\n",
      stderr: "plugchat-sync: warning: not tracked: cli-404 (no such account)\n",
    });
  });
});
