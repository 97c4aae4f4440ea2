// What every account source must do, whatever its database: the same scenarios run against the real
// PostgreSQL (source-postgres.test.ts) and the real MariaDB (source-mariadb.test.ts).
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { type AccountSourceSettings, readSourceRows } from "../../../src/accounts/source/read-source.js";
import { createPrismaClient, type PrismaClient } from "../../../src/db/prisma.js";
import { createPlugchatClient } from "../../../src/plugchat/index.js";
import { completeRun, startRun } from "../../../src/sync/run-lifecycle.js";
import type { AccountSourceRecord } from "../../../src/sync/types.js";
import { createMigratedTestDatabase, type TestDatabase } from "../../helpers/databases.js";
import { closedPort } from "../../helpers/free-port.js";
import { type CapturedLogs, captureLogs } from "../../helpers/logs.js";

/** A throwaway database of the integrator's, with a `customers` table. */
export interface SourceDatabase {
  /** Connection URL; may carry a password the server ignores (PostgreSQL trust) or needs (none). */
  url: string;
  /** Replaces the table's rows: one customer per value (null: a customer without an account). */
  setIds(ids: readonly (string | null)[]): Promise<void>;
  /** The ids in the table, sorted, to check that a query could not change them. */
  storedIds(): Promise<(string | null)[]>;
  drop(): Promise<void>;
}

export interface SourceBackend {
  create(): Promise<SourceDatabase>;
  /** The same URL with a password, which must never be printed. */
  urlWithPassword(url: string, password: string): string;
  /** A URL of this kind to a port where nothing listens. */
  unreachableUrl(port: number, password: string): string;
  /** A query that sleeps for `seconds`. */
  sleepQuery(seconds: number): string;
  /** A read statement (the statement check lets it through) that writes: the read-only transaction stops it. */
  writingQuery: string;
}

const QUERY = "SELECT plugchat_account_id FROM customers";
const PASSWORD = "src-pw-Zq81xT";

export function defineSourceScenarios(backend: SourceBackend): void {
  let sync: TestDatabase;
  let prisma: PrismaClient;
  let source: SourceDatabase;
  let logs: CapturedLogs;

  beforeAll(async () => {
    source = await backend.create();
  });
  afterAll(async () => {
    await source?.drop();
  });
  beforeEach(async () => {
    sync = await createMigratedTestDatabase();
    prisma = createPrismaClient(sync.url);
    logs = captureLogs();
  });
  afterEach(async () => {
    await prisma.$disconnect();
    await sync.drop();
  });

  /** Opens a run with the source, as `sync` and the worker's fire do, closes it, and returns its row. */
  async function runWith(overrides: Partial<AccountSourceSettings> = {}) {
    const deps = {
      prisma,
      // Never called: opening a run reads the source only.
      client: createPlugchatClient({
        baseUrl: "http://127.0.0.1:9",
        token: "tok-never-printed-77",
        maxRps: 0,
        timeoutMs: 1_000,
        maxAttempts: 1,
      }),
      logger: logs.logger,
      accountSource: { url: source.url, query: QUERY, timeoutMs: 10_000, maxRemovalShare: 0.5, ...overrides },
    };
    const opened = await startRun(deps, "cli");
    const closed = await completeRun(deps, opened.runId);
    expect(closed.summary.accountSource, "the run's row holds what the summary says").toEqual(
      opened.accountSource,
    );
    return closed.summary.accountSource as AccountSourceRecord;
  }

  async function tracking(): Promise<Record<string, boolean>> {
    const rows = await prisma.account.findMany({
      select: { id: true, tracked: true },
      orderBy: { id: "asc" },
    });
    return Object.fromEntries(rows.map((row) => [row.id, row.tracked]));
  }

  it("tracks new ids, untracks ids no longer returned (row kept) and tracks them again when they come back", async () => {
    await source.setIds(["acc-a", "acc-b", "acc-c", "acc-d"]);
    expect(await runWith()).toMatchObject({ outcome: "applied", ids: 4, added: 4, removed: 0, error: null });
    // The run's plan (the total of its progress) counts the ids the source just added.
    expect((await prisma.syncRun.findFirstOrThrow({ orderBy: { id: "desc" } })).accountsPlanned).toBe(4);

    await prisma.account.update({ where: { id: "acc-c" }, data: { name: "Loja C" } });
    await source.setIds(["acc-a", "acc-b", "acc-d", "acc-e"]);
    expect(await runWith()).toMatchObject({ outcome: "applied", ids: 4, added: 1, retracked: 0, removed: 1 });
    expect(await tracking()).toEqual({
      "acc-a": true,
      "acc-b": true,
      "acc-c": false,
      "acc-d": true,
      "acc-e": true,
    });
    expect(
      (await prisma.account.findUnique({ where: { id: "acc-c" } }))?.name,
      "untracked, not deleted",
    ).toBe("Loja C");

    await source.setIds(["acc-a", "acc-b", "acc-c", "acc-d", "acc-e"]);
    expect(await runWith()).toMatchObject({ outcome: "applied", added: 0, retracked: 1, removed: 0 });
    expect(Object.values(await tracking()).every(Boolean)).toBe(true);
    const reconciled = logs.withMessage("account source reconciled").at(-1);
    expect(reconciled).toMatchObject({ sourceIds: 5, retracked: 1, retrackedIds: ["acc-c"] });
  });

  it("reads the rows page by page, each full but the last, and one page with the columns when none match", async () => {
    await source.setIds(["acc-1", "acc-2", "acc-3", "acc-4", "acc-5"]);
    const read = async (query: string) => {
      const pages = [];
      for await (const page of readSourceRows({ url: source.url, query, timeoutMs: 10_000, pageSize: 2 }))
        pages.push(page);
      return pages;
    };

    const pages = await read(`${QUERY} ORDER BY plugchat_account_id`);
    expect(pages.map((page) => page.rows.map((row) => row[0]))).toEqual([
      ["acc-1", "acc-2"],
      ["acc-3", "acc-4"],
      ["acc-5"],
    ]);
    expect(pages.every((page) => page.columns.join() === "plugchat_account_id")).toBe(true);
    expect(await read(`${QUERY} WHERE plugchat_account_id = 'none'`)).toEqual([
      { columns: ["plugchat_account_id"], rows: [] },
    ]);
  });

  it("keeps duplicates once, skips NULLs, and names invalid ids with the reason without tracking them", async () => {
    await source.setIds(["acc-1", "acc-1", null, "has space", "../etc", " acc-2 ", "x".repeat(129), null]);
    const record = await runWith();
    expect(record).toMatchObject({ outcome: "applied", ids: 2, added: 2, invalid: 3 });
    expect(record.invalidExamples).toEqual([
      expect.stringMatching(/^"has space" \(not 1 to 128 ASCII letters/),
      expect.stringMatching(/^"\.\.\/etc" \(not 1 to 128/),
      expect.stringMatching(/^"x{40}…" \(longer than 128 characters\)$/),
    ]);
    expect(await tracking()).toEqual({ "acc-1": true, "acc-2": true });
    expect(logs.withMessage("account source reconciled")[0]).toMatchObject({
      nulls: 2,
      duplicates: 1,
      invalid: 3,
    });
    const warned = logs.withMessage(
      "account source returned values that are not account ids: they are skipped, never requested",
    );
    expect(warned).toHaveLength(1);
  });

  it("refuses to untrack more than the removal limit: nothing changes, one warn line, the reason on the run", async () => {
    await source.setIds(["acc-1", "acc-2", "acc-3", "acc-4", "acc-5", "acc-6", "acc-7", "acc-8"]);
    await runWith({ maxRemovalShare: 0.25 });
    await source.setIds(["acc-1", "acc-2", "acc-3", "acc-new"]);
    const refused = await runWith({ maxRemovalShare: 0.25 });
    expect(refused).toMatchObject({ outcome: "refused", ids: 4, added: 0, removed: 0 });
    expect(refused.error).toMatch(
      /^the source would untrack 5 of 8 tracked accounts \(62\.5%\), above the removal limit of 25%: nothing was changed/,
    );
    expect(Object.keys(await tracking()), "not even the new id is added").toHaveLength(8);
    const warned = logs.withMessage(
      "account source refused by the removal limit: the run goes on with the tracked accounts as they were",
    );
    expect(warned).toHaveLength(1);

    // An emptied table (DELETE FROM customers) is refused the same way.
    await source.setIds([]);
    expect(await runWith({ maxRemovalShare: 0.25 })).toMatchObject({ outcome: "refused", ids: 0 });
    // Within the limit, removals go through.
    await source.setIds(["acc-1", "acc-2", "acc-3", "acc-4", "acc-5", "acc-6"]);
    expect(await runWith({ maxRemovalShare: 0.25 })).toMatchObject({ outcome: "applied", removed: 2 });
  });

  it("skips an unreachable source: the tracked set stays, and its password is never printed", async () => {
    await source.setIds(["acc-1", "acc-2"]);
    await runWith();
    const port = await closedPort();
    const record = await runWith({ url: backend.unreachableUrl(port, PASSWORD), timeoutMs: 2_000 });
    expect(record).toMatchObject({ outcome: "skipped", ids: null, added: 0, removed: 0 });
    expect(record.error).toMatch(/^the account source \(.* at 127\.0\.0\.1:\d+\/\w+\) is unreachable \(/);
    expect(await tracking()).toEqual({ "acc-1": true, "acc-2": true });
    expect(
      logs.withMessage("account source skipped: the run goes on with the tracked accounts as they were"),
    ).toHaveLength(1);
    expect(logs.text()).not.toContain(PASSWORD);
    expect(logs.text()).not.toContain("tok-never-printed-77");
    expect(JSON.stringify(await prisma.syncRun.findMany())).not.toContain(PASSWORD);
  });

  it("skips a query that fails, and one that is not one statement", async () => {
    await source.setIds(["acc-1"]);
    await runWith();
    const failed = await runWith({ query: "SELECT no_such_column FROM customers" });
    expect(failed).toMatchObject({ outcome: "skipped" });
    expect(failed.error).toMatch(/^the account source's query failed on .*: check ACCOUNT_SOURCE_QUERY$/);
    const two = await runWith({ query: `${QUERY}; DELETE FROM customers` });
    expect(two.outcome).toBe("skipped");
    // Not even when the URL asks for several statements (mysql2 reads options from it).
    const url = new URL(source.url);
    url.searchParams.set("multipleStatements", "true");
    const asked = await runWith({ url: url.toString(), query: `COMMIT; DELETE FROM customers; ${QUERY}` });
    expect(asked.outcome).toBe("skipped");
    expect(await source.storedIds()).toEqual(["acc-1"]);
    expect(await tracking()).toEqual({ "acc-1": true });
  });

  it("refuses a query that writes (read-only transaction), and the source's table is unchanged", async () => {
    await source.setIds(["acc-1", "acc-2"]);
    await runWith();
    const record = await runWith({ query: backend.writingQuery });
    expect(record).toMatchObject({ outcome: "skipped" });
    expect(record.error).toMatch(/tries to write, which its read-only transaction refuses/);
    expect(await source.storedIds()).toEqual(["acc-1", "acc-2"]);
    expect(await tracking()).toEqual({ "acc-1": true, "acc-2": true });
  });

  it("cancels a query that runs past the statement timeout", async () => {
    await source.setIds(["acc-1"]);
    await runWith();
    const record = await runWith({ query: backend.sleepQuery(5), timeoutMs: 300 });
    expect(record).toMatchObject({ outcome: "skipped" });
    expect(record.error).toMatch(/ran longer than ACCOUNT_SOURCE_TIMEOUT_MS and was cancelled/);
    expect(await tracking()).toEqual({ "acc-1": true });
  });

  it("names a refused login without the password", async () => {
    const record = await runWith({ url: backend.urlWithPassword(source.url, PASSWORD) });
    // PostgreSQL with trust auth ignores the password and answers; MariaDB's root has none and refuses it.
    if (record.outcome === "skipped") expect(record.error).toMatch(/refused the connection/);
    expect(logs.text()).not.toContain(PASSWORD);
    expect(JSON.stringify(await prisma.syncRun.findMany())).not.toContain(PASSWORD);
  });
}
