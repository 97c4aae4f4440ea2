// `plugchat-sync prune` as a user runs it: what it removes or would remove per table, as a table or
// JSON; the retention settings checked in one line each.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { inheritedEnv, runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { insertPastRun, rowCounts } from "./history.js";

describe("the retention settings", () => {
  it("keep batch rows 7 days and history forever by default, prune every hour", () => {
    const config = parseConfig({});
    expect(config.retentionDays).toEqual({
      sync_run_batches: 7,
      sync_runs: null,
      account_drift: null,
      account_mismatch_spans: null,
      account_versions: null,
    });
    expect(config.pruneEveryMs).toBe(3_600_000);
  });

  it("take whole days or forever, in any case", () => {
    const config = parseConfig({
      RETENTION_BATCHES_DAYS: "forever",
      RETENTION_RUNS_DAYS: " 90 ",
      RETENTION_DRIFT_DAYS: "FOREVER",
      RETENTION_MISMATCH_SPANS_DAYS: "365",
      RETENTION_VERSIONS_DAYS: "1",
      PRUNE_EVERY_MS: "0",
    });
    expect(config.retentionDays).toEqual({
      sync_run_batches: null,
      sync_runs: 90,
      account_drift: null,
      account_mismatch_spans: 365,
      account_versions: 1,
    });
    expect(config.pruneEveryMs).toBe(0);
  });

  it("refuse 0, fractions, negative and words, each in one line naming the variable", () => {
    const bad = {
      RETENTION_BATCHES_DAYS: "0",
      RETENTION_RUNS_DAYS: "1.5",
      RETENTION_DRIFT_DAYS: "-3",
      RETENTION_VERSIONS_DAYS: "never",
    };
    expect(() => parseConfig(bad)).toThrow(
      [
        'invalid configuration: RETENTION_BATCHES_DAYS="0" is not valid: expected a whole number of days from 1 to 36500, or "forever" to keep every row',
        'invalid configuration: RETENTION_RUNS_DAYS="1.5" is not valid: expected a whole number of days from 1 to 36500, or "forever" to keep every row',
        'invalid configuration: RETENTION_DRIFT_DAYS="-3" is not valid: expected a whole number of days from 1 to 36500, or "forever" to keep every row',
        'invalid configuration: RETENTION_VERSIONS_DAYS="never" is not valid: expected a whole number of days from 1 to 36500, or "forever" to keep every row',
      ].join("\n"),
    );
  });
});

describe("plugchat-sync prune", () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  const env = () => inheritedEnv({ DATABASE_URL: database.url, RETENTION_RUNS_DAYS: "7" });

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    prisma = createPrismaClient(database.url);
    await insertPastRun(prisma, { age: 30, batches: 3 });
    await insertPastRun(prisma, { age: 20, batches: 2 });
    await insertPastRun(prisma, { age: 1, batches: 1 });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await database.drop();
  });

  it("--dry-run --json says what it would remove per table, and removes nothing", async () => {
    const before = await rowCounts(prisma);
    const result = await runCli(["prune", "--dry-run", "--json"], env());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(result.stdout)).toEqual({
      dryRun: true,
      total: 7,
      tables: [
        { table: "sync_run_batches", keepDays: 7, wouldRemove: 5 },
        { table: "account_drift", keepDays: null, wouldRemove: 0 },
        { table: "account_mismatch_spans", keepDays: null, wouldRemove: 0 },
        { table: "account_versions", keepDays: null, wouldRemove: 0 },
        { table: "sync_runs", keepDays: 7, wouldRemove: 2 },
      ],
    });
    expect(await rowCounts(prisma)).toEqual(before);
  });

  it("removes them and prints a table of what it removed; then nothing is left to remove", async () => {
    const result = await runCli(["prune"], env());
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^sync_run_batches\s+5\s+7 days\s+RETENTION_BATCHES_DAYS$/m);
    expect(result.stdout).toMatch(/^account_drift\s+0\s+forever\s+RETENTION_DRIFT_DAYS$/m);
    expect(result.stdout).toMatch(/^sync_runs\s+2\s+7 days\s+RETENTION_RUNS_DAYS$/m);
    expect(result.stdout).toMatch(/^removed 7 rows$/m);
    expect(await rowCounts(prisma)).toMatchObject({ sync_runs: 1, sync_run_batches: 1 });

    const again = await runCli(["prune", "--dry-run"], env());
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/^nothing to remove$/m);
  });

  it("refuses a bad option or setting in one line, exit 2", async () => {
    const option = await runCli(["prune", "--older-than", "3"], env());
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--older-than'");
    const setting = await runCli(["prune"], { ...env(), RETENTION_DRIFT_DAYS: "0" });
    expect(setting.code).toBe(2);
    expect(setting.stderr.trim()).toBe(
      'plugchat-sync: error: invalid configuration: RETENTION_DRIFT_DAYS="0" is not valid: expected a whole number of days from 1 to 36500, or "forever" to keep every row',
    );
  });
});
