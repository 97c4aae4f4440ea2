// Bad input: 1,000 malformed or odd Plugchat answers, each for its own account, through a real sync;
// and bad configuration values, through the built CLI. Nothing may crash, nothing wrong may be
// stored, and every problem must be one clear line.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlugchatAccount } from "../../src/plugchat/index.js";
import { MAX_EXTERNAL_ID_LENGTH, MAX_NAME_LENGTH, MAX_WEBHOOK_LENGTH } from "../../src/plugchat/response.js";
import {
  mulberry32,
  type Simulator,
  type SimulatorFault,
  simulatedAccount,
  startSimulator,
} from "../../src/simulator/index.js";
import { SYNCED_FIELDS } from "../../src/sync/drift.js";
import { FAULT_TOKEN, recordFaultResult, recordScenarioResult } from "./support.js";
import { differingFields, linesOf, readStoredAccounts, runCli, syncHarness } from "./sync-harness.js";

/** The malformed bodies are drawn from this seed: the same 1,000 on every run unless FAULT_SEED is set. */
const SEED = Number(process.env.FAULT_SEED ?? 20_261_124);
const CASES = 1_000;

type Expectation =
  /** Legal, however odd: stored exactly as this account; `unknown` are reported as unknown fields. */
  | { ok: PlugchatAccount; unknown?: string[] }
  /** Refused: the account fails with an error whose problem matches, and keeps its stored values. */
  | { error: RegExp };

interface BadInputCase {
  id: string;
  kind: string;
  fault: SimulatorFault;
  expect: Expectation;
}

const FIELDS = SYNCED_FIELDS;
type Field = (typeof FIELDS)[number];
const STRING_FIELDS = FIELDS.filter((field) => field !== "active");
const NULLABLE: ReadonlySet<Field> = new Set(FIELDS.filter((f) => f !== "name" && f !== "active"));
const CAP: Record<Exclude<Field, "active">, number> = {
  externalId: MAX_EXTERNAL_ID_LENGTH,
  name: MAX_NAME_LENGTH,
  onStartAttendance: MAX_WEBHOOK_LENGTH,
  onFinishAttendance: MAX_WEBHOOK_LENGTH,
  onReceiveMessage: MAX_WEBHOOK_LENGTH,
  onSendingMessage: MAX_WEBHOOK_LENGTH,
  onMessageStatus: MAX_WEBHOOK_LENGTH,
  onMessageDeliveryError: MAX_WEBHOOK_LENGTH,
};

/** Valid Unicode that is legal data: stored byte for byte. */
const ODD_BUT_VALID = [
  "\u202eRTL override\u202c and \u200f marks",
  "emoji 🏳️‍🌈 👩🏽‍💻 🇧🇷",
  "combining e\u0301 a\u0308 and Zalgo z\u0351\u0352\u0353",
  "zero\u200bwidth\u200djoiners\ufeff",
  "line\u2028separator\u2029paragraph",
  "bell \u0007 escape \u001b[31mred\u001b[0m tab\tnewline\n",
  "عربى עברית 中文 日本語 한국어",
  "'; DROP TABLE accounts; --",
  "<script>alert(1)</script>",
  "\u0024{jndi:ldap://x}/%s%n%x",
  "../../etc/passwd",
  "",
  "   ",
  "\\u0000 as text, not a NUL",
];

/** What a wrong value of each JSON type looks like, for a field that wants another type. */
const WRONG_VALUES: Record<string, unknown[]> = {
  string: [42, 0, -1.5, true, false, [], ["a"], {}, { url: "x" }],
  boolean: ["true", "false", "", 1, 0, [], {}, [true]],
};

function generateCases(): BadInputCase[] {
  const random = mulberry32(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const json = (value: unknown) => JSON.stringify(value);
  const body = (text: string | Uint8Array): SimulatorFault => ({ type: "body", body: text });
  /** The account as JSON with one member's value replaced by raw JSON text. */
  const withRaw = (account: PlugchatAccount, field: string, rawValue: string) =>
    `{${Object.entries({ ...account, [field]: "\u0000PLACEHOLDER" })
      .map(([key, value]) => `${json(key)}:${value === "\u0000PLACEHOLDER" ? rawValue : json(value)}`)
      .join(",")}}`;
  const invalid = (problem: string | RegExp): Expectation => ({
    error: typeof problem === "string" ? new RegExp(`^${escapeRegExp(problem)}$`) : problem,
  });

  // Each generator makes one case from the account the simulator served before (`base`).
  const generators: Record<string, (base: PlugchatAccount) => Omit<BadInputCase, "id" | "kind">> = {
    wrongType(base) {
      const field = pick(FIELDS);
      const type = field === "active" ? "boolean" : "string";
      const value = pick(WRONG_VALUES[type] ?? []);
      const got = Array.isArray(value) ? "array" : typeof value;
      const expected = `${type}${NULLABLE.has(field) ? " or null" : ""}`;
      return {
        fault: body(json({ ...base, [field]: value })),
        expect: invalid(`field "${field}" must be ${expected}, got ${got}`),
      };
    },
    nullWhereStringBelongs(base) {
      const field = pick(FIELDS);
      const account = { ...base, [field]: null };
      if (NULLABLE.has(field))
        return { fault: body(json(account)), expect: { ok: account as PlugchatAccount } };
      const expected = field === "active" ? "boolean" : "string";
      return {
        fault: body(json(account)),
        expect: invalid(`field "${field}" must be ${expected}, got null`),
      };
    },
    missingField(base) {
      const field = pick(FIELDS);
      const { [field]: _dropped, ...rest } = base;
      // The one optional field: an answer without it says nothing about it (the stored value is kept).
      if (field === "onMessageDeliveryError")
        return { fault: body(json(rest)), expect: { ok: rest as PlugchatAccount } };
      return { fault: body(json(rest)), expect: invalid(`field "${field}" is missing`) };
    },
    truncated(base) {
      const text = json({ ...base, name: pick(ODD_BUT_VALID) });
      const cut = int(0, text.length - 1);
      return {
        fault: body(text.slice(0, cut)),
        expect: invalid(cut === 0 ? "the body is not JSON: it is empty" : /^the body is not JSON: /),
      };
    },
    notJson() {
      const text = pick([
        "<html><body>502 Bad Gateway</body></html>",
        "{'name': 'single quotes'}",
        '{"name": "x", /* comment */ "active": true}',
        '{"active": NaN}',
        '{"a":1}{"b":2}',
        "undefined",
        "   ",
        "OK",
      ]);
      return { fault: body(text), expect: invalid(/^the body is not JSON: /) };
    },
    notAnObject() {
      const value = pick([[], [1, 2], "account", 42, true, null]);
      const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
      return { fault: body(json(value)), expect: invalid(`the body is not a JSON object (got ${type})`) };
    },
    invalidUtf8(base) {
      const text = new TextEncoder().encode(json(base));
      const bytes = new Uint8Array(text);
      const at = int(10, bytes.length - 3);
      const bad = pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]);
      bytes.set(bad, at);
      return { fault: body(bytes), expect: invalid("the body is not JSON: it is not valid UTF-8") };
    },
    nul(base) {
      const field = pick(STRING_FIELDS);
      const raw = pick(['"\\u0000"', '"before\\u0000after"', '"\\u0000\\u0000"']);
      return {
        fault: body(withRaw(base, field, raw)),
        expect: invalid(`field "${field}" contains a NUL character (U+0000), which cannot be stored`),
      };
    },
    unpairedSurrogate(base) {
      const field = pick(STRING_FIELDS);
      const raw = pick(['"\\ud800"', '"x\\udfff"', '"\\udbffy"', '"\\ude00\\ud83d"']);
      return {
        fault: body(withRaw(base, field, raw)),
        expect: invalid(`field "${field}" is not valid Unicode (it holds an unpaired surrogate)`),
      };
    },
    oddButValidUnicode(base) {
      const field = pick(STRING_FIELDS);
      const account = { ...base, [field]: pick(ODD_BUT_VALID) };
      // Sometimes with the non-ASCII characters written as \u escapes, which must decode to the same.
      const text = random() < 0.5 ? json(account) : json(account).replace(/[^\x20-\x7e]/g, escapeChar);
      return { fault: body(text), expect: { ok: account } };
    },
    overCap(base) {
      const field = pick(STRING_FIELDS);
      const cap = CAP[field];
      const length = pick([cap + 1, cap + int(2, 5_000), 100 * 1024]);
      return {
        fault: body(json({ ...base, [field]: pick(["x", "é", "😀"]).repeat(length) })),
        expect: invalid(`field "${field}" is ${length} characters long: at most ${cap} are accepted`),
      };
    },
    atCap(base) {
      const field = pick(STRING_FIELDS);
      // One code point each: the cap counts characters, not UTF-16 units or bytes.
      const account = { ...base, [field]: pick(["x", "ß", "😀", "\u0301"]).repeat(CAP[field]) };
      return { fault: body(json(account)), expect: { ok: account } };
    },
    extraFields(base) {
      // Raw JSON members, so that they can be what JSON.stringify would not write (5,000 levels deep).
      const [members, unknown] = pick<[string, string[]]>([
        ['"plan":"pro","seats":3', ["plan", "seats"]],
        ['"sessionName":"s","webhooks":{"nested":[1,{"deep":true}]}', ["sessionName", "webhooks"]],
        [`"huge":${json("h".repeat(200 * 1024))}`, ["huge"]],
        [`"deep":${"[".repeat(5_000)}${"]".repeat(5_000)}`, ["deep"]],
        ['"__proto__":{"active":false},"constructor":"c"', ["__proto__", "constructor"]],
        ['"Name":"case differs","ACTIVE":false', ["Name", "ACTIVE"]],
        // Names PostgreSQL could not store (NUL) or would change (an unpaired surrogate) are escaped.
        ['"bad\\u0000key":1,"\\ud800":2', ['"bad\\u0000key"', '"\\ud800"']],
      ]);
      return { fault: body(`{${members},${json(base).slice(1)}`), expect: { ok: base, unknown } };
    },
    duplicateKeys(base) {
      // JSON.parse keeps the last of duplicate keys, as most parsers do.
      const name = `${base.name} (second)`;
      const text = `{"name":"first",${json({ ...base, name }).slice(1)}`;
      return { fault: body(text), expect: { ok: { ...base, name } } };
    },
    oversizedBody(base) {
      const bytes = pick([1024 * 1024 + 1, 1_500_000, 3 * 1024 * 1024]);
      if (random() < 0.5) {
        return {
          fault: { type: "oversized", bytes, declareLength: random() < 0.5 },
          expect: invalid("the body is larger than 1 MiB"),
        };
      }
      const padding = "p".repeat(bytes);
      return { fault: body(json({ padding, ...base })), expect: invalid("the body is larger than 1 MiB") };
    },
  };

  const kinds = Object.keys(generators);
  return Array.from({ length: CASES }, (_, index) => {
    const kind = kinds[index % kinds.length] as string;
    const id = `bad-${String(index + 1).padStart(4, "0")}`;
    const generated = generators[kind]?.(simulatedAccount(index + 1));
    if (generated === undefined) throw new Error(`no generator ${kind}`);
    return { id, kind, ...generated };
  });
}

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe(`bad input (seed ${SEED})`, () => {
  let simulator: Simulator;
  const cases = generateCases();

  beforeAll(async () => {
    simulator = await startSimulator({
      token: FAULT_TOKEN,
      accounts: Object.fromEntries(cases.map((c, index) => [c.id, simulatedAccount(index + 1)])),
    });
  });

  afterAll(async () => {
    await simulator?.close();
  });

  it("1,000 malformed or odd answers: no crash, each bad one a clear per-account error with the last good values kept, each odd but legal one stored verbatim", async () => {
    const h = await syncHarness("1,000 malformed Plugchat answers", simulator);
    try {
      const ids = cases.map((c) => c.id);
      await h.track(ids);
      const client = h.client({ maxAttempts: 2 });
      const baseline = await h.sync({ client, batchSize: 250 });
      const before = await readStoredAccounts(h.db.url, ids);

      simulator.resetStats();
      for (const c of cases) simulator.setFault(c.fault, { accountId: c.id });
      const run = await h.sync({ client, batchSize: 250 }).catch((error: unknown) => {
        // A crashed run is this scenario's worst outcome: it still gets its line in the table.
        recordFaultResult({
          scenario: "1,000 malformed Plugchat answers (run crashed)",
          faultsInjected: simulator.faultsInjected().total,
          runs: 2,
          accountsChecked: CASES,
          mismatches: CASES,
          duplicateDriftRows: 0,
        });
        throw error;
      });
      const injected = simulator.faultsInjected().total;
      simulator.clearFaults();

      const stored = await readStoredAccounts(h.db.url, ids);
      const problems: string[] = [];
      let expectedFailures = 0;
      let expectedDrift = 0;
      const expectedUnknown = new Set<string>();
      for (const c of cases) {
        const row = stored.get(c.id);
        const previous = before.get(c.id)?.account;
        if (row === undefined || previous === undefined) {
          problems.push(`${c.id} (${c.kind}): not stored`);
          continue;
        }
        if ("error" in c.expect) {
          expectedFailures += 1;
          const prefix = `Plugchat sent an invalid response for account ${c.id}: `;
          const problem = row.error?.startsWith(prefix) ? row.error.slice(prefix.length) : null;
          if (row.status !== "failed" || problem === null || !c.expect.error.test(problem)) {
            problems.push(`${c.id} (${c.kind}): ${row.status} "${row.error}", expected ${c.expect.error}`);
          }
          for (const field of differingFields(row.account, previous)) {
            problems.push(`${c.id} (${c.kind}): ${field} changed although the answer was refused`);
          }
        } else {
          if (row.status !== "ok") problems.push(`${c.id} (${c.kind}): ${row.status} "${row.error}"`);
          for (const field of differingFields(row.account, c.expect.ok)) {
            problems.push(`${c.id} (${c.kind}): ${field} stored ${JSON.stringify(row.account[field])}`);
          }
          expectedDrift += differingFields(previous, c.expect.ok).length;
          for (const name of c.expect.unknown ?? []) expectedUnknown.add(name);
        }
        if (row.error !== null && (row.error.includes("    at ") || row.error.length > 500)) {
          problems.push(`${c.id} (${c.kind}): error is not one short line`);
        }
      }
      const duplicates = await recordScenarioResult(h.db.url, {
        scenario: "1,000 malformed Plugchat answers",
        faultsInjected: injected,
        runs: 2,
        accountsChecked: 2 * CASES,
        mismatches: problems.length,
      });

      expect(problems.slice(0, 20)).toEqual([]);
      expect(duplicates).toBe(0);
      expect(baseline).toMatchObject({ status: "succeeded", accountsChanged: CASES });
      expect(run).toMatchObject({
        status: "partial",
        accountsTotal: CASES,
        accountsFailed: expectedFailures,
        driftCount: expectedDrift,
        error: null,
      });
      expect(run.unknownFields).toEqual(expect.arrayContaining([...expectedUnknown]));
      // Both kinds are well represented, and each refused account got one warn line naming it.
      expect(expectedFailures).toBeGreaterThan(600);
      expect(CASES - expectedFailures).toBeGreaterThan(150);
      const failedLines = h.logs.withMessage("account sync failed");
      expect(new Set(failedLines.map((line) => line.accountId)).size).toBe(expectedFailures);
      // A refused answer is final: one request each, no retries of something that will not change.
      expect(simulator.requestCount()).toBe(CASES);
    } finally {
      await h.close();
    }
  });
});

describe("bad configuration values", () => {
  let simulator: Simulator;
  let dir: string;

  beforeAll(async () => {
    simulator = await startSimulator({ token: FAULT_TOKEN, accounts: 3 });
    dir = await mkdtemp(join(tmpdir(), "plugchat-bad-config-"));
  });

  afterAll(async () => {
    await simulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("each bad value stops `sync` with exit 2 and exactly one line naming the variable, with no stack trace, no token and nothing synced", async () => {
    const h = await syncHarness("bad configuration values", simulator);
    try {
      await h.track(simulator.listIds());
      const twoLines = join(dir, "two-lines");
      await writeFile(twoLines, `${FAULT_TOKEN}\nsecond line\n`);
      const valid = { DATABASE_URL: h.db.url, PLUGCHAT_BASE_URL: simulator.url, PLUGCHAT_TOKEN: FAULT_TOKEN };
      const invalidConfiguration = (name: string) => new RegExp(`^invalid configuration: ${name}[ ="]`);
      const cases: [label: string, env: Record<string, string | undefined>, line: RegExp][] = [
        ["DATABASE_URL not a URL", { DATABASE_URL: "not a url" }, invalidConfiguration("DATABASE_URL")],
        [
          "DATABASE_URL of MySQL",
          { DATABASE_URL: "mysql://root:hunter2@db/x" },
          /DATABASE_URL has the scheme/,
        ],
        ["REDIS_URL over http", { REDIS_URL: "http://127.0.0.1:6379" }, /REDIS_URL has the scheme "http:"/],
        [
          "PLUGCHAT_BASE_URL over ftp",
          { PLUGCHAT_BASE_URL: "ftp://plugchat.example" },
          /PLUGCHAT_BASE_URL has/,
        ],
        [
          "PLUGCHAT_BASE_URL without host",
          { PLUGCHAT_BASE_URL: "https://" },
          /PLUGCHAT_BASE_URL is not a valid/,
        ],
        [
          "PLUGCHAT_BASE_URL plain http",
          { PLUGCHAT_BASE_URL: "http://api.plugchat.com.br" },
          /PLUGCHAT_BASE_URL uses plain http to api\.plugchat\.com\.br.*PLUGCHAT_ALLOW_INSECURE=1/,
        ],
        ["PLUGCHAT_ALLOW_INSECURE", { PLUGCHAT_ALLOW_INSECURE: "sometimes" }, /PLUGCHAT_ALLOW_INSECURE=/],
        ["SYNC_CRON words", { SYNC_CRON: "every five minutes" }, /SYNC_CRON=.*3 fields/],
        ["SYNC_CRON out of range", { SYNC_CRON: "61 * * * *" }, /SYNC_CRON=/],
        ["SYNC_CRON 10,000 characters", { SYNC_CRON: "*".repeat(10_000) }, /SYNC_CRON="\*{79}…"/],
        ["SYNC_TIMEZONE", { SYNC_TIMEZONE: "Mars/Olympus_Mons" }, /SYNC_TIMEZONE=.*IANA/],
        ["SYNC_CONCURRENCY letters", { SYNC_CONCURRENCY: "abc" }, /SYNC_CONCURRENCY="abc"/],
        ["SYNC_CONCURRENCY zero", { SYNC_CONCURRENCY: "0" }, /SYNC_CONCURRENCY="0"/],
        ["SYNC_CONCURRENCY 1e3", { SYNC_CONCURRENCY: "1e3" }, /SYNC_CONCURRENCY="1e3"/],
        [
          "SYNC_CONCURRENCY with a line break",
          { SYNC_CONCURRENCY: "16\nplugchat-sync: error: forged line" },
          /SYNC_CONCURRENCY="16\\nplugchat-sync: error: forged line"/,
        ],
        ["SYNC_BATCH_SIZE negative", { SYNC_BATCH_SIZE: "-5" }, /SYNC_BATCH_SIZE="-5"/],
        ["SYNC_BATCH_SIZE too big", { SYNC_BATCH_SIZE: "10001" }, /SYNC_BATCH_SIZE="10001"/],
        ["PLUGCHAT_MAX_RPS words", { PLUGCHAT_MAX_RPS: "fast" }, /PLUGCHAT_MAX_RPS="fast"/],
        ["PLUGCHAT_MAX_RPS infinite", { PLUGCHAT_MAX_RPS: "Infinity" }, /PLUGCHAT_MAX_RPS="Infinity"/],
        ["HTTP_TIMEOUT_MS zero", { HTTP_TIMEOUT_MS: "0" }, /HTTP_TIMEOUT_MS="0"/],
        ["HTTP_TIMEOUT_MS fraction", { HTTP_TIMEOUT_MS: "2.5" }, /HTTP_TIMEOUT_MS="2.5"/],
        ["SYNC_MAX_ATTEMPTS 21", { SYNC_MAX_ATTEMPTS: "21" }, /SYNC_MAX_ATTEMPTS="21"/],
        [
          "PLUGCHAT_RETRY_AFTER_MAX_MS",
          { PLUGCHAT_RETRY_AFTER_MAX_MS: "-1" },
          /PLUGCHAT_RETRY_AFTER_MAX_MS=/,
        ],
        ["PLUGCHAT_OUTAGE_AFTER zero", { PLUGCHAT_OUTAGE_AFTER: "0" }, /PLUGCHAT_OUTAGE_AFTER="0"/],
        ["PLUGCHAT_OUTAGE_PROBE_MS", { PLUGCHAT_OUTAGE_PROBE_MS: "5s" }, /PLUGCHAT_OUTAGE_PROBE_MS="5s"/],
        [
          "PLUGCHAT_OUTAGE_GIVE_UP_MS",
          { PLUGCHAT_OUTAGE_GIVE_UP_MS: "-1" },
          /PLUGCHAT_OUTAGE_GIVE_UP_MS="-1"/,
        ],
        ["LOG_LEVEL unknown", { LOG_LEVEL: "verbose" }, /LOG_LEVEL="verbose"/],
        ["LOG_LEVEL upper case", { LOG_LEVEL: "INFO" }, /LOG_LEVEL="INFO"/],
        ["LOG_PRETTY", { LOG_PRETTY: "maybe" }, /LOG_PRETTY="maybe"/],
        ["METRICS_PORT", { METRICS_PORT: "65536" }, /METRICS_PORT="65536"/],
        ["QUEUE_PREFIX", { QUEUE_PREFIX: "my prefix*" }, /QUEUE_PREFIX=/],
        ["WORKER_CONCURRENCY", { WORKER_CONCURRENCY: "65" }, /WORKER_CONCURRENCY="65"/],
        ["WORKER_SHUTDOWN_TIMEOUT_MS", { WORKER_SHUTDOWN_TIMEOUT_MS: "soon" }, /WORKER_SHUTDOWN_TIMEOUT_MS=/],
        ["WORKER_LOCK_DURATION_MS", { WORKER_LOCK_DURATION_MS: "999" }, /WORKER_LOCK_DURATION_MS="999"/],
        ["WORKER_STALLED_INTERVAL_MS", { WORKER_STALLED_INTERVAL_MS: "x" }, /WORKER_STALLED_INTERVAL_MS="x"/],
        ["SYNC_NOTIFY_URL over ftp", { SYNC_NOTIFY_URL: "ftp://hooks.example" }, /SYNC_NOTIFY_URL has/],
        [
          "STATUS_PASSWORD too short",
          { STATUS_PASSWORD: "short" },
          /STATUS_PASSWORD is not a usable password/,
        ],
        [
          "STATUS_PASSWORD_FILE missing",
          { STATUS_PASSWORD_FILE: join(dir, "missing") },
          /STATUS_PASSWORD_FILE=".*missing" cannot be read \(ENOENT\)/,
        ],
        [
          "ACCOUNT_SOURCE_URL of MongoDB",
          { ACCOUNT_SOURCE_URL: "mongodb://app:hunter2@crm/x", ACCOUNT_SOURCE_QUERY: "SELECT id FROM c" },
          /ACCOUNT_SOURCE_URL has the scheme "mongodb:"/,
        ],
        [
          "ACCOUNT_SOURCE_URL without ACCOUNT_SOURCE_QUERY",
          { ACCOUNT_SOURCE_URL: "mysql://app:hunter2@crm/x" },
          /ACCOUNT_SOURCE_URL is set but ACCOUNT_SOURCE_QUERY is not/,
        ],
        [
          "ACCOUNT_SOURCE_MAX_REMOVAL",
          { ACCOUNT_SOURCE_MAX_REMOVAL: "50%" },
          /ACCOUNT_SOURCE_MAX_REMOVAL="50%"/,
        ],
        ["ACCOUNT_SOURCE_TIMEOUT_MS", { ACCOUNT_SOURCE_TIMEOUT_MS: "0" }, /ACCOUNT_SOURCE_TIMEOUT_MS="0"/],
        [
          "RETENTION_BATCHES_DAYS zero",
          { RETENTION_BATCHES_DAYS: "0" },
          /RETENTION_BATCHES_DAYS="0".*"forever"/,
        ],
        ["RETENTION_RUNS_DAYS fraction", { RETENTION_RUNS_DAYS: "1.5" }, /RETENTION_RUNS_DAYS="1.5"/],
        ["RETENTION_DRIFT_DAYS words", { RETENTION_DRIFT_DAYS: "never" }, /RETENTION_DRIFT_DAYS="never"/],
        [
          "RETENTION_MISMATCH_SPANS_DAYS negative",
          { RETENTION_MISMATCH_SPANS_DAYS: "-1" },
          /RETENTION_MISMATCH_SPANS_DAYS="-1"/,
        ],
        [
          "RETENTION_VERSIONS_DAYS too big",
          { RETENTION_VERSIONS_DAYS: "36501" },
          /RETENTION_VERSIONS_DAYS="36501"/,
        ],
        ["PRUNE_EVERY_MS words", { PRUNE_EVERY_MS: "hourly" }, /PRUNE_EVERY_MS="hourly"/],
        [
          "PLUGCHAT_TOKEN_FILE missing",
          { PLUGCHAT_TOKEN: undefined, PLUGCHAT_TOKEN_FILE: join(dir, "missing") },
          /PLUGCHAT_TOKEN_FILE=".*missing" cannot be read \(ENOENT\)/,
        ],
        [
          "PLUGCHAT_TOKEN_FILE a directory",
          { PLUGCHAT_TOKEN: undefined, PLUGCHAT_TOKEN_FILE: dir },
          /PLUGCHAT_TOKEN_FILE=.* cannot be read \(EISDIR\)/,
        ],
        [
          "PLUGCHAT_TOKEN_FILE of two lines",
          { PLUGCHAT_TOKEN: undefined, PLUGCHAT_TOKEN_FILE: twoLines },
          /does not hold a usable token/,
        ],
        [
          "PLUGCHAT_TOKEN and PLUGCHAT_TOKEN_FILE",
          { PLUGCHAT_TOKEN_FILE: twoLines },
          /PLUGCHAT_TOKEN and PLUGCHAT_TOKEN_FILE are both set/,
        ],
        [
          "PLUGCHAT_TOKEN with a space",
          { PLUGCHAT_TOKEN: `${FAULT_TOKEN} extra` },
          /PLUGCHAT_TOKEN does not hold a usable token/,
        ],
        ["no token", { PLUGCHAT_TOKEN: undefined }, /^no Plugchat token: set PLUGCHAT_TOKEN/],
      ];

      const limit = pLimit(4);
      const results = await Promise.all(
        cases.map(([label, env, line]) =>
          limit(async () => {
            const merged: Record<string, string> = {};
            for (const [name, value] of Object.entries({ ...valid, ...env })) {
              if (value !== undefined) merged[name] = value;
            }
            const exit = await runCli(`bad configuration: ${label}`, ["sync"], merged);
            return { label, line, exit };
          }),
        ),
      );
      const wrong = results.flatMap(({ label, line, exit }) => {
        const lines = linesOf(exit.stderr);
        const text = lines[0]?.replace(/^plugchat-sync: error: /, "") ?? "";
        const ok =
          exit.code === 2 &&
          lines.length === 1 &&
          lines[0]?.startsWith("plugchat-sync: error: ") === true &&
          line.test(text) &&
          exit.stdout === "" &&
          !exit.stderr.includes("    at ") &&
          !exit.stderr.includes(FAULT_TOKEN) &&
          !exit.stderr.includes("hunter2");
        return ok
          ? []
          : [
              `${label}: exit ${exit.code}, stdout ${JSON.stringify(exit.stdout)}, stderr ${JSON.stringify(exit.stderr)}`,
            ];
      });
      const runs = await h.prisma.syncRun.count();
      const touched = await h.prisma.account.count({ where: { NOT: { lastStatus: "pending" } } });
      await recordScenarioResult(h.db.url, {
        scenario: "bad configuration values",
        faultsInjected: cases.length,
        runs: cases.length,
        accountsChecked: simulator.listIds().length,
        mismatches: touched,
      });

      expect(wrong).toEqual([]);
      expect(runs).toBe(0);
      expect(touched).toBe(0);
      expect(simulator.requestCount()).toBe(0);
    } finally {
      await h.close();
    }
  });
});
