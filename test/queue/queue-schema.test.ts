// The PostgreSQL queue backend's schema: applied by `plugchat-sync migrate` (idempotent, safe when
// deploys run at once, in QUEUE_SCHEMA), and required by `worker` and `trigger`, which refuse to start
// without it in one line that says to run migrate.
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase } from "../helpers/databases.js";

let database: TestDatabase;

function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, {
    ...process.env,
    DATABASE_URL: database.url,
    REDIS_URL: "",
    QUEUE_BACKEND: "",
    QUEUE_PREFIX: "queue-schema-test",
    PLUGCHAT_BASE_URL: "http://127.0.0.1:9",
    PLUGCHAT_TOKEN: "queue-schema-test-token",
    METRICS_PORT: "0",
    SYNC_CRON: "off",
    LOG_LEVEL: "warn",
    LOG_PRETTY: "false",
    ...env,
  });
}

async function schemaTables(schema: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
      [schema],
    );
    return rows.map((row) => row.table_name);
  } finally {
    await client.end();
  }
}

afterEach(async () => {
  await database.drop();
});

describe("migrate on the PostgreSQL queue backend", () => {
  beforeEach(async () => {
    database = await createTestDatabase();
  });

  it("creates the queue schema beside the reporting tables, and says so; run again (or twice at once) it changes nothing", async () => {
    const [first, second] = await Promise.all([cli(["migrate"]), cli(["migrate"])]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(first.stdout).toMatch(/^queue schema "bullmq" is at BullMQ schema version \d+$/m);
    const tables = await schemaTables("bullmq");
    expect(tables).toEqual(expect.arrayContaining(["job", "scheduler", "plugchat_sync_rate_limit"]));
    expect(await schemaTables("public")).toEqual(expect.arrayContaining(["accounts", "sync_runs"]));
    expect(await schemaTables("public")).not.toContain("job");

    const again = await cli(["migrate"]);
    expect(again.code).toBe(0);
    expect(await schemaTables("bullmq")).toEqual(tables);
  });

  it("puts the queues in QUEUE_SCHEMA, and creates no queue schema when the queues are in Redis", async () => {
    expect((await cli(["migrate"], { QUEUE_SCHEMA: "jobs_here" })).code).toBe(0);
    expect(await schemaTables("jobs_here")).toContain("job");
    expect(await schemaTables("bullmq")).toEqual([]);

    const other = await createTestDatabase();
    try {
      const result = await runCli(["migrate"], {
        ...process.env,
        DATABASE_URL: other.url,
        REDIS_URL: "redis://127.0.0.1:6379",
        LOG_PRETTY: "false",
      });
      expect(result.code).toBe(0);
      expect(result.stdout).not.toMatch(/queue schema/);
    } finally {
      await other.drop();
    }
  });
});

describe("worker and trigger without the queue schema", () => {
  beforeEach(async () => {
    database = await createMigratedTestDatabase();
  });

  it("refuse to start, in one line that says to run migrate, exit 1", async () => {
    for (const command of [["worker"], ["trigger", "--wait"]]) {
      const result = await cli(command);
      expect(result.code, command.join(" ")).toBe(1);
      const errors = result.stderr
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("plugchat-sync: error:"));
      expect(errors).toEqual([
        expect.stringMatching(
          /^plugchat-sync: error: the queue schema "bullmq" is missing in the database .*: run `plugchat-sync migrate`/,
        ),
      ]);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
