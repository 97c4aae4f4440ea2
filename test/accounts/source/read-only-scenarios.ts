// The account source never writes, whatever ACCOUNT_SOURCE_QUERY says: the same scenarios against the
// real PostgreSQL (source-postgres-read-only.test.ts) and the real MariaDB (source-mariadb-read-only.test.ts).
// Each hostile statement is refused before it reaches the database, and a `canary` table proves it.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  readSourceRows,
  type SourcePage,
  type SourceReadOptions,
} from "../../../src/accounts/source/read-source.js";
import { sourceWriteAccess } from "../../../src/accounts/source/write-access.js";
import { createPrismaClient, type PrismaClient } from "../../../src/db/prisma.js";
import { createPlugchatClient } from "../../../src/plugchat/index.js";
import { completeRun, startRun } from "../../../src/sync/run-lifecycle.js";
import type { AccountSourceRecord } from "../../../src/sync/types.js";
import { runCli } from "../../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../../helpers/databases.js";
import { captureLogs } from "../../helpers/logs.js";

/** A throwaway source database: `customers` (ids acc-1, acc-2) and `canary` (ids 1, 2, 3). */
export interface CanarySource {
  /** As its creator (a superuser, or MariaDB's root). */
  url: string;
  /** A user made with the SQL of docs/account-source.md ("A read-only user"). */
  readerUrl: string;
  /** The canary's ids, sorted; null once the table is gone. */
  canary(): Promise<number[] | null>;
  /** Whether a table of that name exists. */
  hasTable(name: string): Promise<boolean>;
  drop(): Promise<void>;
}

export interface ReadOnlyBackend {
  create(): Promise<CanarySource>;
  /** The database's reader alone, without the statement check in front of it. */
  rawReader(options: SourceReadOptions): AsyncGenerator<SourcePage>;
  /** Statements that would write, and the reason they are refused for before reaching the database. */
  refused: readonly (readonly [string, string])[];
  /** Statements the statement check refuses, which the read-only session refuses as well. */
  heldBySession: readonly string[];
  /** A statement that returns no result set, or no column. */
  noResultSet: string;
  /** Files of the server's machine that refused statements would have written. */
  files: readonly string[];
  /** What the source's creator may write, as `accounts source check` warns. */
  creatorAccess: RegExp;
  /** Text replaced in the statements once the source exists (such as its URL, for dblink). */
  placeholders?: (source: CanarySource) => Record<string, string>;
}

const READ = "SELECT plugchat_account_id FROM customers";
const REFUSED = "ACCOUNT_SOURCE_QUERY was refused before it reached the database: ";
const HOW =
  "; it must be one statement that only reads (SELECT, WITH … SELECT, TABLE or VALUES), such as SELECT id FROM customers";

export function defineReadOnlyScenarios(backend: ReadOnlyBackend): void {
  let source: CanarySource;
  let sync: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    source = await backend.create();
    sync = await createMigratedTestDatabase();
    prisma = createPrismaClient(sync.url);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await sync?.drop();
    await source?.drop();
  });

  /** Opens and closes a run with the source, as `sync` and the worker do: what the source step did. */
  async function runWith(query: string, url = source.url) {
    const logs = captureLogs();
    const deps = {
      prisma,
      // Never called: opening a run reads the source only.
      client: createPlugchatClient({
        baseUrl: "http://127.0.0.1:9",
        token: "tok-never-used",
        maxRps: 0,
        timeoutMs: 1_000,
        maxAttempts: 1,
      }),
      logger: logs.logger,
      accountSource: { url, query, timeoutMs: 10_000, maxRemovalShare: 1 },
    };
    const opened = await startRun(deps, "cli");
    await completeRun(deps, opened.runId);
    return { record: opened.accountSource as AccountSourceRecord, logs };
  }

  async function readAll(pages: AsyncIterable<SourcePage>): Promise<unknown[]> {
    const values: unknown[] = [];
    for await (const page of pages) values.push(...page.rows.map((row) => row[0]));
    return values;
  }

  async function expectCanaryKept(): Promise<void> {
    expect(await source.canary(), "the canary table is there with its rows").toEqual([1, 2, 3]);
    expect(await source.hasTable("stolen"), "no table was created").toBe(false);
    for (const file of backend.files) expect(existsSync(file), `${file} was not written`).toBe(false);
  }

  it.each(backend.refused)(
    "a run skips ACCOUNT_SOURCE_QUERY=%j, refused before it reaches the database (%s); the canary keeps its rows",
    async (statement, reason) => {
      const replacements = Object.entries(backend.placeholders?.(source) ?? {});
      const query = replacements.reduce((text, [key, value]) => text.replaceAll(key, value), statement);
      const { record, logs } = await runWith(query);
      expect(record).toMatchObject({ outcome: "skipped", ids: null, added: 0, removed: 0 });
      expect(record.error).toBe(`${REFUSED}${reason}${HOW}`);
      expect(
        logs.withMessage("account source skipped: the run goes on with the tracked accounts as they were"),
      ).toEqual([expect.objectContaining({ kind: "not_read_only", reason: record.error })]);
      await expectCanaryKept();
    },
  );

  it("reads a statement with a string saying DROP TABLE, comments and a trailing semicolon", async () => {
    const query = `  (${READ} WHERE plugchat_account_id <> 'DROP TABLE canary; --') -- and a comment\n ; `;
    const { record } = await runWith(query);
    expect(record).toMatchObject({ outcome: "applied", ids: 2, error: null });
    await expectCanaryKept();
  });

  it.each(backend.heldBySession)(
    "without the statement check, the read-only session still refuses %j",
    async (query) => {
      const reading = readAll(
        backend.rawReader({ url: source.url, query, timeoutMs: 10_000, pageSize: 100 }),
      );
      await expect(reading).rejects.toMatchObject({
        kind: "writes",
        message: expect.stringMatching(
          /^the account source's query tries to write, which its read-only transaction refuses/,
        ),
      });
      await expectCanaryKept();
    },
  );

  it("refuses a statement that returns no result set as not a query that returns rows, not as one NULL", async () => {
    const reading = readAll(
      backend.rawReader({ url: source.url, query: backend.noResultSet, timeoutMs: 10_000, pageSize: 100 }),
    );
    await expect(reading).rejects.toMatchObject({
      kind: "no_rows",
      message: expect.stringMatching(/^the account source's query is not a query that returns rows/),
    });
  });

  it("names what lets the source's creator write, and nothing for the read-only user of the docs, which reads", async () => {
    expect(await sourceWriteAccess(source.url, 10_000)).toMatch(backend.creatorAccess);
    expect(await sourceWriteAccess(source.readerUrl, 10_000)).toBeUndefined();
    const values = await readAll(
      readSourceRows({ url: source.readerUrl, query: READ, timeoutMs: 10_000, pageSize: 100 }),
    );
    expect(values.sort()).toEqual(["acc-1", "acc-2"]);
  });

  it("accounts source check refuses it in one line and warns that the user can write; a read-only user is not warned", async () => {
    const env = (url: string, query: string) => ({
      ...process.env,
      DATABASE_URL: sync.url,
      PLUGCHAT_BASE_URL: "http://127.0.0.1:9",
      PLUGCHAT_TOKEN: "tok-never-used",
      LOG_LEVEL: "warn",
      LOG_PRETTY: "false",
      ACCOUNT_SOURCE_URL: url,
      ACCOUNT_SOURCE_QUERY: query,
    });
    const [query, reason] = backend.refused[0] as readonly [string, string];
    const refused = await runCli(["accounts", "source", "check"], env(source.url, query));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^plugchat-sync: warning: the account source's user can write \(it .+\): its query is checked and run read-only, but only a user that may only read guarantees nothing is written; see "A read-only user" in docs\/account-source\.md$/,
      ),
      `plugchat-sync: error: ${REFUSED}${reason}${HOW}`,
    ]);
    await expectCanaryKept();

    const reader = await runCli(["accounts", "source", "check"], env(source.readerUrl, READ));
    expect(reader.stderr).toBe("");
    expect(reader.code).toBe(0);
    expect(reader.stdout).toContain("2 account ids returned");
  });
}
