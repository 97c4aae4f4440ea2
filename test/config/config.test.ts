import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultDataDir, parseConfig, requirePlugchatToken } from "../../src/config/index.js";

function problemsOf(env: NodeJS.ProcessEnv, readFile?: (path: string) => string): string[] {
  try {
    parseConfig(env, readFile ? { readFile } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    return [...(error as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("applies the documented defaults to an empty environment", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      embeddedPort: 54329,
      redisUrl: undefined,
      queueBackend: "postgres",
      queueSchema: "bullmq",
      plugchatBaseUrl: "https://api.plugchat.com.br",
      plugchatToken: undefined,
      syncCron: "*/15 * * * *",
      syncTimezone: "UTC",
      syncConcurrency: 16,
      syncBatchSize: 500,
      plugchatMaxRps: 0,
      httpTimeoutMs: 10_000,
      syncMaxAttempts: 5,
      logLevel: "info",
      logPretty: false,
      metricsPort: undefined,
      queuePrefix: "plugchat-sync",
      workerConcurrency: 1,
      workerShutdownTimeoutMs: 30_000,
      workerLockDurationMs: 30_000,
      workerStalledIntervalMs: 30_000,
      syncNotifyUrl: undefined,
      plugchatAllowInsecure: false,
      accountSourceUrl: undefined,
      accountSourceQuery: undefined,
      accountSourceMaxRemoval: 0.25,
      accountSourceTimeoutMs: 30_000,
      plugchatOutage: { after: 30, probeEveryMs: 5_000, giveUpMs: 45_000 },
    });
  });

  it("reads when Plugchat counts as down and how long a run waits for it", () => {
    const config = parseConfig({
      PLUGCHAT_OUTAGE_AFTER: "5",
      PLUGCHAT_OUTAGE_PROBE_MS: "250",
      PLUGCHAT_OUTAGE_GIVE_UP_MS: "0",
    });
    expect(config.plugchatOutage).toEqual({ after: 5, probeEveryMs: 250, giveUpMs: 0 });
  });

  it("reads the account source: a PostgreSQL, MySQL or MariaDB URL with its query, limit and timeout", () => {
    for (const url of [
      "postgresql://u:p@crm/db",
      "postgres://crm/db",
      "mysql://u:p@crm:3306/db",
      "mariadb://crm/db",
    ]) {
      expect(
        parseConfig({ ACCOUNT_SOURCE_URL: url, ACCOUNT_SOURCE_QUERY: "SELECT id FROM c" }).accountSourceUrl,
      ).toBe(url);
    }
    const config = parseConfig({
      ACCOUNT_SOURCE_URL: "postgresql://crm/db",
      ACCOUNT_SOURCE_QUERY:
        "  SELECT plugchat_account_id FROM customers WHERE plugchat_account_id IS NOT NULL; ",
      ACCOUNT_SOURCE_MAX_REMOVAL: "0.1",
      ACCOUNT_SOURCE_TIMEOUT_MS: "5000",
    });
    expect(config).toMatchObject({
      accountSourceQuery: "SELECT plugchat_account_id FROM customers WHERE plugchat_account_id IS NOT NULL",
      accountSourceMaxRemoval: 0.1,
      accountSourceTimeoutMs: 5000,
    });
  });

  it("needs both ACCOUNT_SOURCE_URL and ACCOUNT_SOURCE_QUERY, or neither, without echoing the URL's password", () => {
    const urlOnly = problemsOf({ ACCOUNT_SOURCE_URL: "mysql://app:hunter2@crm/db" });
    expect(urlOnly).toEqual([
      expect.stringMatching(
        /^ACCOUNT_SOURCE_URL is set but ACCOUNT_SOURCE_QUERY is not: set both .* or neither$/,
      ),
    ]);
    expect(urlOnly.join("\n")).not.toContain("hunter2");
    expect(problemsOf({ ACCOUNT_SOURCE_QUERY: "SELECT id FROM c" })).toEqual([
      expect.stringMatching(/^ACCOUNT_SOURCE_QUERY is set but ACCOUNT_SOURCE_URL is not/),
    ]);
    const badScheme = problemsOf({
      ACCOUNT_SOURCE_URL: "mongodb://app:hunter2@crm/db",
      ACCOUNT_SOURCE_QUERY: "SELECT id FROM c",
    });
    expect(badScheme).toEqual([
      expect.stringMatching(/^ACCOUNT_SOURCE_URL has the scheme "mongodb:": expected postgresql:/),
    ]);
    expect(badScheme.join("\n")).not.toContain("hunter2");
  });

  it("uses a DATABASE_URL that is set as given, and has no default for it (the embedded server then)", () => {
    expect(parseConfig({ DATABASE_URL: " postgresql://app:pw@db.example:6543/x " }).databaseUrl).toBe(
      "postgresql://app:pw@db.example:6543/x",
    );
    expect(parseConfig({ DATABASE_URL: "" }).databaseUrl).toBeUndefined();
  });

  it("takes PLUGCHAT_SYNC_DATA_DIR as an absolute path, and PLUGCHAT_SYNC_DB_PORT as a port", () => {
    expect(parseConfig({ PLUGCHAT_SYNC_DATA_DIR: "/srv/plugchat/" }).dataDir).toBe("/srv/plugchat");
    expect(parseConfig({ PLUGCHAT_SYNC_DATA_DIR: "rel/dir" }).dataDir).toBe(`${process.cwd()}/rel/dir`);
    expect(parseConfig({ PLUGCHAT_SYNC_DB_PORT: "6000" }).embeddedPort).toBe(6000);
    expect(problemsOf({ PLUGCHAT_SYNC_DB_PORT: "70000" })).toEqual([
      'PLUGCHAT_SYNC_DB_PORT="70000" is not valid: expected a whole number from 1 to 65535',
    ]);
  });

  it("keeps the embedded server's data where the platform keeps a user's data, and outside root's home for root", () => {
    const linux = { os: "linux" as const, uid: 1000, home: "/home/ana" };
    expect(defaultDataDir({}, linux)).toBe("/home/ana/.local/share/plugchat-sync");
    expect(defaultDataDir({ XDG_DATA_HOME: "/data/ana" }, linux)).toBe("/data/ana/plugchat-sync");
    // The XDG spec: a relative XDG_DATA_HOME is ignored.
    expect(defaultDataDir({ XDG_DATA_HOME: "rel" }, linux)).toBe("/home/ana/.local/share/plugchat-sync");
    // The server runs as `postgres`, which cannot enter /root (0700).
    expect(defaultDataDir({ XDG_DATA_HOME: "/root/.local/share" }, { ...linux, uid: 0, home: "/root" })).toBe(
      "/var/lib/plugchat-sync",
    );
    expect(defaultDataDir({}, { os: "darwin", uid: 501, home: "/Users/ana" })).toBe(
      "/Users/ana/Library/Application Support/plugchat-sync",
    );
    expect(
      defaultDataDir(
        { LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local" },
        { os: "win32", uid: undefined, home: "C:\\Users\\ana" },
      ),
    ).toContain("plugchat-sync");
  });

  it("puts the queues in PostgreSQL unless REDIS_URL is set or QUEUE_BACKEND says otherwise", () => {
    expect(parseConfig({}).queueBackend).toBe("postgres");
    expect(parseConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).queueBackend).toBe("redis");
    expect(parseConfig({ REDIS_URL: "redis://127.0.0.1:6379", QUEUE_BACKEND: "postgres" }).queueBackend).toBe(
      "postgres",
    );
    expect(parseConfig({ QUEUE_BACKEND: "redis", REDIS_URL: "redis://h:1/2" })).toMatchObject({
      queueBackend: "redis",
      redisUrl: "redis://h:1/2",
    });
  });

  it("refuses a bad QUEUE_BACKEND, QUEUE_BACKEND=redis without REDIS_URL, and a bad QUEUE_SCHEMA", () => {
    expect(problemsOf({ QUEUE_BACKEND: "mongo" })).toEqual([
      'QUEUE_BACKEND="mongo" is not valid: expected one of postgres, redis',
    ]);
    expect(problemsOf({ QUEUE_BACKEND: "redis" })).toEqual([
      "QUEUE_BACKEND=redis needs REDIS_URL: set it to the Redis of the queues, such as redis://host:6379/0",
    ]);
    expect(problemsOf({ QUEUE_SCHEMA: 'x"; drop' })[0]).toMatch(
      /^QUEUE_SCHEMA=.* is not valid: expected a schema name/,
    );
  });

  it("refuses a QUEUE_SCHEMA of PostgreSQL's own, public, or the reporting tables' schema, so the queues can be dropped alone", () => {
    const own = 'the queues need a schema of their own, such as "bullmq"';
    for (const name of ["pg_catalog", "pg_toast", "pg_temp_1", "information_schema"]) {
      expect(problemsOf({ QUEUE_SCHEMA: name })).toEqual([
        `QUEUE_SCHEMA="${name}" is a schema of PostgreSQL itself: ${own}`,
      ]);
    }
    expect(problemsOf({ QUEUE_SCHEMA: "public" })).toEqual([
      `QUEUE_SCHEMA="public" is PostgreSQL's default schema, where other tables live (the reporting tables unless DATABASE_URL names another schema): ${own}`,
    ]);
    const reportsIn = "postgresql://u:secret-pw@h:5432/d?schema=reports";
    expect(problemsOf({ DATABASE_URL: reportsIn, QUEUE_SCHEMA: "reports" })).toEqual([
      `QUEUE_SCHEMA="reports" is the schema of the reporting tables (DATABASE_URL's ?schema=): ${own}`,
    ]);
    // Any other schema is fine, the default included, and public is refused whatever DATABASE_URL says.
    expect(parseConfig({ DATABASE_URL: reportsIn }).queueSchema).toBe("bullmq");
    expect(parseConfig({ DATABASE_URL: reportsIn, QUEUE_SCHEMA: "jobs" }).queueSchema).toBe("jobs");
    expect(parseConfig({ QUEUE_SCHEMA: "pgqueue" }).queueSchema).toBe("pgqueue");
    expect(problemsOf({ DATABASE_URL: reportsIn, QUEUE_SCHEMA: "public" })).toHaveLength(1);
  });

  it("returns a frozen object", () => {
    const config = parseConfig({});
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("treats empty variables as unset", () => {
    expect(parseConfig({ SYNC_CONCURRENCY: "", LOG_LEVEL: " " }).syncConcurrency).toBe(16);
  });

  it("reads numbers, cron with seconds, time zone and a trailing-slash base URL", () => {
    const config = parseConfig({
      SYNC_CONCURRENCY: "4",
      PLUGCHAT_MAX_RPS: "2.5",
      SYNC_CRON: "0 */5 * * * *",
      SYNC_TIMEZONE: "America/Sao_Paulo",
      PLUGCHAT_BASE_URL: "http://127.0.0.1:8080/",
    });
    expect(config.syncConcurrency).toBe(4);
    expect(config.plugchatMaxRps).toBe(2.5);
    expect(config.syncCron).toBe("0 */5 * * * *");
    expect(config.syncTimezone).toBe("America/Sao_Paulo");
    expect(config.plugchatBaseUrl).toBe("http://127.0.0.1:8080");
  });

  it("reads the worker's queue prefix and timings", () => {
    const config = parseConfig({
      QUEUE_PREFIX: "{acme-sync}",
      WORKER_CONCURRENCY: "4",
      WORKER_SHUTDOWN_TIMEOUT_MS: "0",
      WORKER_LOCK_DURATION_MS: "2000",
      WORKER_STALLED_INTERVAL_MS: "1000",
    });
    expect(config).toMatchObject({
      queuePrefix: "{acme-sync}",
      workerConcurrency: 4,
      workerShutdownTimeoutMs: 0,
      workerLockDurationMs: 2000,
      workerStalledIntervalMs: 1000,
    });
  });

  it("reads SYNC_NOTIFY_URL, and never echoes it when it is not valid (it may hold a secret)", () => {
    expect(parseConfig({ SYNC_NOTIFY_URL: "https://hooks.example/x?key=abc" }).syncNotifyUrl).toBe(
      "https://hooks.example/x?key=abc",
    );
    const problems = problemsOf({ SYNC_NOTIFY_URL: "ftp://user:s3cret@hooks.example/x" });
    expect(problems).toEqual([expect.stringMatching(/^SYNC_NOTIFY_URL has the scheme "ftp:"/)]);
    expect(problems[0]).not.toContain("s3cret");
  });

  it("accepts SYNC_CRON=off for workers that only take manual runs", () => {
    expect(parseConfig({ SYNC_CRON: "off" }).syncCron).toBe("off");
  });

  it("reports every bad variable at once, one line each naming the variable and the expected form", () => {
    const problems = problemsOf({ SYNC_CONCURRENCY: "abc", HTTP_TIMEOUT_MS: "-1", LOG_LEVEL: "loud" });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^SYNC_CONCURRENCY="abc" .*whole number from 1 to 256/);
    expect(problems.some((line) => /^HTTP_TIMEOUT_MS="-1" .*whole number/.test(line))).toBe(true);
    expect(problems.some((line) => /^LOG_LEVEL="loud" .*one of fatal, error/.test(line))).toBe(true);
    for (const line of problems) expect(line).not.toContain("\n");
  });

  it.each([
    ["SYNC_CRON", "*/15 * * *", /SYNC_CRON=.*4 fields/],
    ["SYNC_CRON", "61 * * * *", /SYNC_CRON=.*range 0-59/],
    ["SYNC_TIMEZONE", "Mars/Olympus", /SYNC_TIMEZONE=.*IANA/],
    ["SYNC_MAX_ATTEMPTS", "0", /SYNC_MAX_ATTEMPTS=.*1 to 20/],
    ["PLUGCHAT_OUTAGE_AFTER", "0", /PLUGCHAT_OUTAGE_AFTER=.*1 to 100000/],
    ["PLUGCHAT_OUTAGE_PROBE_MS", "50", /PLUGCHAT_OUTAGE_PROBE_MS=.*100 to 3600000/],
    ["PLUGCHAT_OUTAGE_GIVE_UP_MS", "a minute", /PLUGCHAT_OUTAGE_GIVE_UP_MS=.*whole number from 0/],
    ["PLUGCHAT_MAX_RPS", "-3", /PLUGCHAT_MAX_RPS=.*number from 0/],
    ["METRICS_PORT", "70000", /METRICS_PORT=.*0 to 65535/],
    ["LOG_PRETTY", "maybe", /LOG_PRETTY=.*true or false/],
    ["QUEUE_PREFIX", "my prefix*", /QUEUE_PREFIX=.*letters, digits/],
    ["WORKER_CONCURRENCY", "0", /WORKER_CONCURRENCY=.*1 to 64/],
    ["WORKER_SHUTDOWN_TIMEOUT_MS", "soon", /WORKER_SHUTDOWN_TIMEOUT_MS=.*whole number from 0/],
    ["WORKER_LOCK_DURATION_MS", "10", /WORKER_LOCK_DURATION_MS=.*1000 to 3600000/],
    ["WORKER_STALLED_INTERVAL_MS", "1.5", /WORKER_STALLED_INTERVAL_MS=.*whole number/],
    ["REDIS_URL", "http://localhost", /REDIS_URL has the scheme "http:"/],
    ["PLUGCHAT_BASE_URL", "not a url", /PLUGCHAT_BASE_URL is not a valid URL/],
    ["ACCOUNT_SOURCE_MAX_REMOVAL", "1.5", /ACCOUNT_SOURCE_MAX_REMOVAL=.*number from 0 to 1/],
    ["ACCOUNT_SOURCE_MAX_REMOVAL", "50%", /ACCOUNT_SOURCE_MAX_REMOVAL=.*number from 0 to 1/],
    ["ACCOUNT_SOURCE_TIMEOUT_MS", "10", /ACCOUNT_SOURCE_TIMEOUT_MS=.*100 to 3600000/],
  ])("rejects %s=%s with a clear line", (name, value, pattern) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it.each([
    ["SYNC_CONCURRENCY", "1.5"],
    ["SYNC_CONCURRENCY", "abc"],
    ["PLUGCHAT_MAX_RPS", "-1"],
    ["LOG_PRETTY", "maybe"],
    ["LOG_LEVEL", "loud"],
    ["QUEUE_PREFIX", "a b"],
    ["SYNC_CRON", "* *"],
    ["SYNC_TIMEZONE", "Mars/Olympus"],
    ["DATABASE_URL", "not a url"],
    ["ACCOUNT_SOURCE_QUERY", "SELECT \u0000"],
    ["PLUGCHAT_SYNC_DATA_DIR", "a\u0000b"],
  ])("checks the rules between variables even when %s=%j is bad too", (name, value) => {
    const problems = problemsOf({ QUEUE_BACKEND: "redis", [name]: value });
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^${name}[= ]`)),
      "QUEUE_BACKEND=redis needs REDIS_URL: set it to the Redis of the queues, such as redis://host:6379/0",
    ]);
  });

  it("never echoes a URL that may hold a password", () => {
    const problems = problemsOf({ DATABASE_URL: "mysql://admin:hunter2@db/x" });
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  it("decides LOG_PRETTY from the terminal unless it is set", () => {
    expect(parseConfig({}, { stdoutIsTTY: true }).logPretty).toBe(true);
    expect(parseConfig({ LOG_PRETTY: "false" }, { stdoutIsTTY: true }).logPretty).toBe(false);
    expect(parseConfig({ LOG_PRETTY: "yes" }, { stdoutIsTTY: false }).logPretty).toBe(true);
  });
});

describe("a plain http:// base URL", () => {
  it.each([
    "http://127.0.0.1:4010",
    "http://127.8.9.10/api",
    "http://127.1:4010",
    "http://localhost:4010",
    "http://LOCALHOST.:4010",
    "http://[::1]:4010",
    "http://[::ffff:127.0.0.1]:4010",
    "http://user:pass@127.0.0.1:4010",
  ])("is accepted to the loopback host of %s", (baseUrl) => {
    expect(parseConfig({ PLUGCHAT_BASE_URL: baseUrl }).plugchatAllowInsecure).toBe(false);
  });

  it.each([
    ["a public name", "http://api.plugchat.com.br", "api.plugchat.com.br"],
    ["a private address", "http://10.0.0.5:8080", "10.0.0.5"],
    ["a name that starts like a loopback address", "http://127.0.0.1.example.com", "127.0.0.1.example.com"],
    ["a name that starts with localhost", "http://localhost.example.com", "localhost.example.com"],
    ["the unspecified address", "http://0.0.0.0:4010", "0.0.0.0"],
    ["an IPv6 address", "http://[2001:db8::1]", "[2001:db8::1]"],
  ])("is refused to %s, in one line that says how to fix it", (_label, baseUrl, host) => {
    const problems = problemsOf({ PLUGCHAT_BASE_URL: baseUrl });
    expect(problems).toEqual([
      `PLUGCHAT_BASE_URL uses plain http to ${host}, which would send the token unencrypted: use https://, or set PLUGCHAT_ALLOW_INSECURE=1 if that network is trusted (http is always allowed to 127.0.0.1, ::1 and localhost)`,
    ]);
  });

  it("never echoes the URL's password when it refuses it", () => {
    expect(problemsOf({ PLUGCHAT_BASE_URL: "http://me:hunter2@plugchat.example" }).join("\n")).not.toContain(
      "hunter2",
    );
  });

  it.each(["1", "true", "yes", " TRUE "])("is accepted anywhere with PLUGCHAT_ALLOW_INSECURE=%s", (value) => {
    const config = parseConfig({
      PLUGCHAT_BASE_URL: "http://plugchat.internal",
      PLUGCHAT_ALLOW_INSECURE: value,
    });
    expect(config.plugchatBaseUrl).toBe("http://plugchat.internal");
    expect(config.plugchatAllowInsecure).toBe(true);
  });

  it("is still refused with PLUGCHAT_ALLOW_INSECURE=0, and a bad value of it is reported", () => {
    expect(
      problemsOf({ PLUGCHAT_BASE_URL: "http://plugchat.internal", PLUGCHAT_ALLOW_INSECURE: "0" })[0],
    ).toMatch(/^PLUGCHAT_BASE_URL uses plain http/);
    expect(problemsOf({ PLUGCHAT_ALLOW_INSECURE: "maybe" })).toEqual([
      'PLUGCHAT_ALLOW_INSECURE="maybe" is not valid: expected true or false',
    ]);
    // A bad PLUGCHAT_ALLOW_INSECURE allows nothing.
    expect(
      problemsOf({ PLUGCHAT_BASE_URL: "http://plugchat.internal", PLUGCHAT_ALLOW_INSECURE: "maybe" }),
    ).toEqual([
      'PLUGCHAT_ALLOW_INSECURE="maybe" is not valid: expected true or false',
      expect.stringMatching(/^PLUGCHAT_BASE_URL uses plain http to plugchat.internal/),
    ]);
  });

  it("leaves https:// alone whatever the host", () => {
    expect(parseConfig({ PLUGCHAT_BASE_URL: "https://10.0.0.5" }).plugchatBaseUrl).toBe("https://10.0.0.5");
  });
});

describe("the Plugchat token", () => {
  it("comes from PLUGCHAT_TOKEN and is never printed by inspect, JSON or string conversion", () => {
    const config = parseConfig({ PLUGCHAT_TOKEN: "tok-123456" });
    expect(config.plugchatToken?.reveal()).toBe("tok-123456");
    expect(inspect(config)).not.toContain("tok-123456");
    expect(JSON.stringify(config)).not.toContain("tok-123456");
    expect(`${config.plugchatToken}`).not.toContain("tok-123456");
  });

  it("comes from PLUGCHAT_TOKEN_FILE with surrounding whitespace trimmed", () => {
    const config = parseConfig(
      { PLUGCHAT_TOKEN_FILE: "/run/secrets/plugchat" },
      { readFile: () => "tok-from-file\n" },
    );
    expect(config.plugchatToken?.reveal()).toBe("tok-from-file");
  });

  it("reports an unreadable token file with its path and the reason", () => {
    const problems = problemsOf({ PLUGCHAT_TOKEN_FILE: "/nope/token" }, () => {
      throw Object.assign(new Error("missing"), { code: "ENOENT" });
    });
    expect(problems).toEqual([
      expect.stringMatching(/^PLUGCHAT_TOKEN_FILE="\/nope\/token" cannot be read \(ENOENT\)/),
    ]);
  });

  it("refuses both sources at once, and a token with inner whitespace, without echoing it", () => {
    expect(problemsOf({ PLUGCHAT_TOKEN: "a", PLUGCHAT_TOKEN_FILE: "/x" })[0]).toMatch(/both set/);
    const problems = problemsOf({ PLUGCHAT_TOKEN: "secret part" });
    expect(problems[0]).toMatch(/PLUGCHAT_TOKEN does not hold a usable token/);
    expect(problems[0]).not.toContain("secret part");
  });

  it("is required only when asked for, with a message saying how to set it", () => {
    const config = parseConfig({});
    expect(() => requirePlugchatToken(config)).toThrow(/set PLUGCHAT_TOKEN .* or PLUGCHAT_TOKEN_FILE/);
  });
});

describe("the status page's password", () => {
  it("is unset by default: the page then answers loopback clients only", () => {
    expect(parseConfig({}).statusPassword).toBeUndefined();
  });

  it("comes from STATUS_PASSWORD and is never printed by inspect, JSON or string conversion", () => {
    const config = parseConfig({ STATUS_PASSWORD: "correct horse battery" });
    expect(config.statusPassword?.reveal()).toBe("correct horse battery");
    expect(inspect(config)).not.toContain("correct horse");
    expect(JSON.stringify(config)).not.toContain("correct horse");
    expect(config).not.toHaveProperty("statusPasswordFile");
  });

  it("comes from STATUS_PASSWORD_FILE, trimmed, and an unreadable file is reported with the reason", () => {
    const config = parseConfig(
      { STATUS_PASSWORD_FILE: "/run/secrets/status" },
      { readFile: () => "from-the-file\n" },
    );
    expect(config.statusPassword?.reveal()).toBe("from-the-file");
    const problems = problemsOf({ STATUS_PASSWORD_FILE: "/nope" }, () => {
      throw Object.assign(new Error("missing"), { code: "EACCES" });
    });
    expect(problems).toEqual([
      expect.stringMatching(/^STATUS_PASSWORD_FILE="\/nope" cannot be read \(EACCES\)/),
    ]);
  });

  it("refuses both sources, a short password and control characters, without echoing the value", () => {
    expect(problemsOf({ STATUS_PASSWORD: "long enough", STATUS_PASSWORD_FILE: "/x" })).toEqual([
      expect.stringMatching(/both set/),
    ]);
    const short = problemsOf({ STATUS_PASSWORD: "abc1234" });
    expect(short).toEqual([
      expect.stringMatching(/^STATUS_PASSWORD is not a usable password: expected at least 8/),
    ]);
    expect(short[0]).not.toContain("abc1234");
    const control = problemsOf({ STATUS_PASSWORD_FILE: "/x" }, () => "two\nlines here");
    expect(control[0]).toMatch(/does not hold a usable password: expected no control characters/);
    expect(control[0]).not.toContain("lines here");
  });
});
