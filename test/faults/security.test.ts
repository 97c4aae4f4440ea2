// Security: the token stays secret everywhere, plain http is refused to other hosts, account ids
// cannot steer requests, webhook values are data, and a redirect never carries the token away.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidAccountIdsError, trackAccounts } from "../../src/accounts/repository.js";
import {
  type PlugchatAccount,
  type PlugchatClient,
  PlugchatInvalidAccountIdError,
} from "../../src/plugchat/index.js";
import { MAX_WEBHOOK_LENGTH } from "../../src/plugchat/response.js";
import { simulatedAccount, startSimulator } from "../../src/simulator/index.js";
import { rejectionOf } from "../helpers/throws.js";
import { compareWithPlugchat, FAULT_TOKEN, recordDatabase, recordScenarioResult } from "./support.js";
import { readStoredAccounts, recordError, runCli, syncHarness } from "./sync-harness.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "plugchat-security-"));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** An account as the simulator generates it, with some fields replaced. */
function account(index: number, fields: Partial<PlugchatAccount> = {}): PlugchatAccount {
  return { ...simulatedAccount(index), ...fields };
}

describe("the token", () => {
  it("appears in no log line (trace level), no error, no stored row and no output of the CLI, whatever goes wrong", async () => {
    const simulator = await startSimulator({ token: FAULT_TOKEN, accounts: 40 });
    const refusing = await startSimulator({ token: "another-token", accounts: 3 });
    const h = await syncHarness("the token stays secret", simulator);
    try {
      const ids = simulator.listIds();
      const idsFile = join(dir, "ids.txt");
      await writeFile(idsFile, `${ids.join("\n")}\nacc-99999\n`);
      const env = {
        DATABASE_URL: h.db.url,
        PLUGCHAT_BASE_URL: simulator.url,
        PLUGCHAT_TOKEN: FAULT_TOKEN,
        LOG_LEVEL: "trace",
        HTTP_TIMEOUT_MS: "1000",
        SYNC_MAX_ATTEMPTS: "2",
      };
      // Every kind of failure, so that every error path writes its message somewhere.
      simulator.setFault({ type: "status", status: 500 }, { accountId: "acc-00001" });
      simulator.setFault({ type: "reset" }, { accountId: "acc-00002" });
      simulator.setFault({ type: "hang" }, { accountId: "acc-00003" });
      simulator.setFault({ type: "malformedJson" }, { accountId: "acc-00004" });
      simulator.setFault({ type: "wrongType", field: "active", value: "yes" }, { accountId: "acc-00005" });
      simulator.setFault({ type: "oversized" }, { accountId: "acc-00006" });
      simulator.setFault({ type: "redirect", location: `${refusing.url}/x` }, { accountId: "acc-00007" });
      simulator.setFault({ type: "status", status: 429, retryAfter: 0 }, { accountId: "acc-00008" });
      simulator.setFault({ type: "status", status: 400, body: "bad request" }, { accountId: "acc-00009" });
      const faults = 9;

      const exits = [
        await runCli("token: import", ["accounts", "import", idsFile], env),
        await runCli("token: sync", ["sync"], env),
        await runCli("token: sync --json", ["sync", "--json"], env),
        await runCli("token: refused by Plugchat", ["sync"], { ...env, PLUGCHAT_BASE_URL: refusing.url }),
        await runCli("token: from a file", ["sync"], {
          ...env,
          PLUGCHAT_TOKEN: "",
          PLUGCHAT_TOKEN_FILE: await tokenFile(),
        }),
        await runCli("token: report", ["report", "--drift", "--json"], env),
        await runCli("token: list", ["accounts", "list", "--all", "--json"], env),
        await runCli("token: bad config", ["sync"], { ...env, SYNC_CONCURRENCY: "lots" }),
        await runCli("token: help", ["--help"], env),
      ];
      // In process too: every error the client throws, as every printer would show it.
      const client = h.client({ timeoutMs: 1_000, maxAttempts: 2 });
      const errors: unknown[] = [];
      for (const id of [...ids.slice(0, 9), "acc-99999", "../etc", "a b"]) {
        await client.getAccount(id).catch((error: unknown) => {
          errors.push(error);
          recordError(`token: getAccount ${id}`, error);
        });
      }
      const database = await recordDatabase("the token stays secret (CLI)", h.db.url);

      const texts = [
        ...exits.map((exit) => `${exit.stdout}\n${exit.stderr}`),
        database,
        ...errors.map((error) => `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`),
      ];
      const leaks = texts.filter((text) => text.includes(FAULT_TOKEN)).length;
      const healthy = ids.slice(9);
      const mismatches = await compareWithPlugchat(h.db.url, healthy, (id) => simulator.getAccount(id));
      await recordScenarioResult(h.db.url, {
        scenario: "token never printed",
        faultsInjected: faults + 1,
        runs: 3,
        accountsChecked: healthy.length,
        mismatches: mismatches.length + leaks,
      });

      expect(leaks).toBe(0);
      expect(mismatches).toEqual([]);
      expect(errors).toHaveLength(12);
      expect(exits.map((exit) => exit.code)).toEqual([0, 1, 1, 1, 1, 0, 0, 2, 0]);
      // The runs did fail the ways they should, so the error paths were really taken.
      expect(exits[1]?.stderr).toContain("account sync failed");
      expect(exits[3]?.stderr).toContain("Plugchat refused the token (HTTP 401)");
      expect(exits[2]?.stdout).toContain('"accountsFailed": 9');
      // The token did travel where it should: to the simulator, in the Authorization header.
      expect(
        simulator.requests().every((request) => request.headers.authorization === `Bearer ${FAULT_TOKEN}`),
      ).toBe(true);
    } finally {
      await h.close();
      await simulator.close();
      await refusing.close();
    }
  });
});

async function tokenFile(): Promise<string> {
  const path = join(dir, "token");
  await writeFile(path, `${FAULT_TOKEN}\n`);
  return path;
}

describe("a plain http:// base URL", () => {
  it("is refused unless the host is loopback or PLUGCHAT_ALLOW_INSECURE=1, in one line saying how to fix it", async () => {
    const simulator = await startSimulator({ token: FAULT_TOKEN, accounts: 5, host: "0.0.0.0" });
    const h = await syncHarness("plain http base URL", simulator);
    try {
      await h.track(simulator.listIds());
      const env = { DATABASE_URL: h.db.url, PLUGCHAT_TOKEN: FAULT_TOKEN };
      const port = simulator.port;
      const refused = [
        "http://api.plugchat.com.br",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
        "http://10.1.2.3:8080",
        "http://[2001:db8::1]",
      ];
      const refusals = await Promise.all(
        refused.map((url) => runCli(`http refused: ${url}`, ["sync"], { ...env, PLUGCHAT_BASE_URL: url })),
      );
      const loopback = [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://127.1:${port}/`];
      const loopbackRuns = [];
      for (const url of loopback) {
        loopbackRuns.push(
          await runCli(`http loopback: ${url}`, ["sync"], { ...env, PLUGCHAT_BASE_URL: url }),
        );
      }
      // With PLUGCHAT_ALLOW_INSECURE=1 a host that is not loopback is accepted: the configuration, and a
      // real sync through this machine's own non-loopback address when it has one.
      const allowed = await runCli("http allowed: list", ["accounts", "list"], {
        ...env,
        PLUGCHAT_BASE_URL: "http://plugchat.internal",
        PLUGCHAT_ALLOW_INSECURE: "1",
      });
      const address = Object.values(networkInterfaces())
        .flat()
        .find((entry) => entry?.family === "IPv4" && !entry.internal)?.address;
      const external =
        address === undefined
          ? undefined
          : {
              refused: await runCli("http external refused", ["sync"], {
                ...env,
                PLUGCHAT_BASE_URL: `http://${address}:${port}`,
              }),
              allowed: await runCli("http external allowed", ["sync"], {
                ...env,
                PLUGCHAT_BASE_URL: `http://${address}:${port}`,
                PLUGCHAT_ALLOW_INSECURE: "1",
              }),
            };

      const wrong = [
        ...refusals.flatMap((exit, i) =>
          exit.code === 2 &&
          /^plugchat-sync: error: invalid configuration: PLUGCHAT_BASE_URL uses plain http to \S+, which would send the token unencrypted: use https:\/\/, or set PLUGCHAT_ALLOW_INSECURE=1 .*\n$/.test(
            exit.stderr,
          )
            ? []
            : [`${refused[i]}: exit ${exit.code} ${exit.stderr}`],
        ),
        ...loopbackRuns.flatMap((exit, i) =>
          exit.code === 0 ? [] : [`${loopback[i]}: exit ${exit.code} ${exit.stderr}`],
        ),
        ...(allowed.code === 0 ? [] : [`allowed: exit ${allowed.code} ${allowed.stderr}`]),
        ...(external === undefined || (external.refused.code === 2 && external.allowed.code === 0)
          ? []
          : [`${address}: exit ${external.refused.code} then ${external.allowed.code}`]),
      ];
      const ids = simulator.listIds();
      const mismatches = await compareWithPlugchat(h.db.url, ids, (id) => simulator.getAccount(id));
      const runs = loopbackRuns.length + (external ? 1 : 0);
      await recordScenarioResult(h.db.url, {
        scenario: "plain http base URL",
        faultsInjected: refused.length + (external ? 1 : 0),
        runs,
        accountsChecked: ids.length,
        mismatches: mismatches.length + wrong.length,
      });

      expect(wrong).toEqual([]);
      expect(mismatches).toEqual([]);
      // Only the accepted runs reached Plugchat: one request per account each.
      expect(simulator.requestCount()).toBe(runs * ids.length);
    } finally {
      await h.close();
      await simulator.close();
    }
  });
});

describe("account ids", () => {
  const BAD_IDS: [label: string, id: string][] = [
    ["a slash", "acc/../admin"],
    ["a parent path", ".."],
    ["a dot segment", "acc-00001/.."],
    ["a query", "acc-00001?admin=1"],
    ["a fragment", "acc-00001#x"],
    ["a percent escape", "acc%2F00001"],
    ["an encoded parent path", "%2e%2e"],
    ["a space", "acc 00001"],
    ["a control character", "acc\u000100001"],
    ["an escape sequence", "acc\u001b[31m"],
    ["a DEL", "acc\u007f"],
    ["a CR", "acc\r00001"],
    ["a non-ASCII look-alike", "аcc-00001"],
    ["a backslash", "acc\\00001"],
    ["129 characters", "a".repeat(129)],
  ];

  it("with /, .., ?, #, %, spaces or control characters are rejected at import, by add and by the repository, and never reach the network", async () => {
    const simulator = await startSimulator({ token: FAULT_TOKEN, accounts: 5 });
    const h = await syncHarness("invalid account ids", simulator);
    try {
      const valid = simulator.listIds();
      const env = { DATABASE_URL: h.db.url, PLUGCHAT_BASE_URL: simulator.url, PLUGCHAT_TOKEN: FAULT_TOKEN };
      const problems: string[] = [];

      // One file with every bad id among good ones: nothing imported, each bad line reported. (A CR
      // ends a line in a file, so that one is tried through add, CSV and the repository only.)
      const inFile = BAD_IDS.map(([, id]) => id).filter((id) => !id.includes("\r"));
      const file = join(dir, "mixed-ids.txt");
      await writeFile(file, [...valid, ...inFile].join("\n"));
      const strict = await runCli("ids: import", ["accounts", "import", file], env);
      if (
        strict.code !== 1 ||
        !strict.stderr.includes(`has ${inFile.length} invalid account ids, nothing was imported`)
      ) {
        problems.push(`import: exit ${strict.code} ${strict.stderr}`);
      }
      if ((await h.prisma.account.count()) !== 0) problems.push("import: something was imported");
      // Each bad id alone, through add and through a CSV import (four processes at a time).
      const limit = pLimit(4);
      await Promise.all(
        BAD_IDS.map(([label, id], index) =>
          limit(async () => {
            const add = await runCli(`ids: add ${label}`, ["accounts", "add", "acc-00001", id], env);
            if (
              add.code !== 1 ||
              !/^plugchat-sync: error: 1 invalid account id, nothing was added: /.test(add.stderr)
            ) {
              problems.push(`add ${label}: exit ${add.code} ${add.stderr}`);
            }
            const csv = join(dir, `one-${index}.csv`);
            await writeFile(csv, `accountId,name\n"${id.replaceAll('"', '""')}",x\n`);
            const imported = await runCli(`ids: csv ${label}`, ["accounts", "import", csv], env);
            if (imported.code !== 1) problems.push(`csv ${label}: exit ${imported.code} ${imported.stderr}`);
          }),
        ),
      );
      for (const [label, id] of BAD_IDS) {
        const refused = await rejectionOf(trackAccounts(h.prisma, ["acc-00002", id]));
        recordError(`ids: trackAccounts ${label}`, refused);
        if (!(refused instanceof InvalidAccountIdsError))
          problems.push(`trackAccounts ${label}: not refused`);
        const fetched = await rejectionOf(h.client().getAccount(id));
        if (!(fetched instanceof PlugchatInvalidAccountIdError))
          problems.push(`getAccount ${label}: not refused`);
      }
      if ((await h.prisma.account.count()) !== 0) problems.push("something was added");

      // --skip-invalid imports the valid ones only; the sync then asks Plugchat for exactly those.
      const skipping = await runCli(
        "ids: import --skip-invalid",
        ["accounts", "import", "--skip-invalid", file],
        env,
      );
      if (skipping.code !== 0) problems.push(`--skip-invalid: exit ${skipping.code} ${skipping.stderr}`);
      const sync = await runCli("ids: sync", ["sync"], env);
      if (sync.code !== 0) problems.push(`sync: exit ${sync.code} ${sync.stderr}`);
      const tracked = (await h.prisma.account.findMany({ orderBy: { id: "asc" } })).map((row) => row.id);
      const paths = simulator.requests().map((request) => request.path);
      const strayRequests = paths.filter(
        (path) => !valid.some((id) => path === `/integrator/account/${id}/`),
      ).length;
      const mismatches = await compareWithPlugchat(h.db.url, valid, (id) => simulator.getAccount(id));
      await recordScenarioResult(h.db.url, {
        scenario: "invalid account ids",
        faultsInjected: BAD_IDS.length * 5,
        runs: 1,
        accountsChecked: valid.length,
        mismatches: mismatches.length + strayRequests + problems.length,
      });

      expect(problems).toEqual([]);
      expect(tracked).toEqual(valid);
      expect(strayRequests).toBe(0);
      expect(paths).toHaveLength(valid.length);
      expect(mismatches).toEqual([]);
    } finally {
      await h.close();
      await simulator.close();
    }
  });
});

describe("webhook values", () => {
  const HOSTILE = [
    "javascript:alert(1)",
    "'; DROP TABLE accounts; --",
    "Robert'); DROP TABLE sync_runs;--",
    "https://x.example/?q=' OR '1'='1",
    '"><img src=x onerror=alert(1)>',
    "$1 $$ \\' \\\\",
    "{{7*7}} <%= 7*7 %>",
    "file:///etc/passwd",
    "https://hooks.example/\u202egnp.exe",
    "%00%27%22",
    "",
    " https://hooks.example/padded ",
  ];

  it("are stored verbatim as data, drift included, and one over the 2,048-character cap fails its account instead of being cut", async () => {
    const atCap = `https://hooks.example/${"a".repeat(MAX_WEBHOOK_LENGTH - 22)}`;
    const overCap = `${atCap}b`;
    const accounts: Record<string, PlugchatAccount> = {};
    HOSTILE.forEach((value, i) => {
      accounts[`hook-${i}`] = account(i + 1, {
        onStartAttendance: value,
        onReceiveMessage: HOSTILE[(i + 1) % HOSTILE.length] ?? null,
        name: HOSTILE[(i + 2) % HOSTILE.length] ?? "",
        externalId: value,
      });
    });
    accounts["hook-cap"] = account(100);
    accounts["hook-over"] = account(101);
    const simulator = await startSimulator({ token: FAULT_TOKEN, accounts });
    const h = await syncHarness("webhook values verbatim", simulator);
    try {
      const ids = simulator.listIds();
      await h.track(ids);
      const client: PlugchatClient = h.client();
      const first = await h.sync({ client });
      const firstMismatches = await compareWithPlugchat(h.db.url, ids, (id) => simulator.getAccount(id));

      // Second run: every hostile value moves to another field (drift with hostile old and new
      // values), one webhook grows to exactly the cap, one past it.
      const before = simulator.getAccount("hook-over");
      HOSTILE.forEach((value, i) => {
        simulator.setAccount(`hook-${i}`, {
          onStartAttendance: HOSTILE[(i + 3) % HOSTILE.length] ?? null,
          onMessageStatus: value,
        });
      });
      simulator.setAccount("hook-cap", { onReceiveMessage: atCap });
      simulator.setAccount("hook-over", { onReceiveMessage: overCap });
      const second = await h.sync({ client });

      const healthy = ids.filter((id) => id !== "hook-over");
      const secondMismatches = await compareWithPlugchat(h.db.url, healthy, (id) => simulator.getAccount(id));
      const stored = await readStoredAccounts(h.db.url, ["hook-over"]);
      const over = stored.get("hook-over");
      const drift = await h.prisma.accountDrift.findMany({ where: { syncRunId: second.runId } });
      const driftWrong = drift.filter((row) => {
        const now = simulator.getAccount(row.accountId) as unknown as Record<string, unknown>;
        return now[row.field] !== row.newValue;
      });
      const tables = await h.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'
          AND tablename IN ('accounts', 'sync_runs', 'account_drift', 'sync_run_batches')`;
      const keptWrong = before && over?.account.onReceiveMessage !== before.onReceiveMessage ? 1 : 0;
      await recordScenarioResult(h.db.url, {
        scenario: "webhook values verbatim and capped",
        faultsInjected: HOSTILE.length + 1,
        runs: 2,
        accountsChecked: 2 * ids.length,
        mismatches: firstMismatches.length + secondMismatches.length + driftWrong.length + keptWrong,
      });

      expect(firstMismatches).toEqual([]);
      expect(secondMismatches).toEqual([]);
      expect(driftWrong).toEqual([]);
      expect(tables[0]?.n).toBe(4);
      expect(first.status).toBe("succeeded");
      expect(second).toMatchObject({ status: "partial", accountsFailed: 1 });
      expect(over).toMatchObject({
        status: "failed",
        error: `Plugchat sent an invalid response for account hook-over: field "onReceiveMessage" is ${MAX_WEBHOOK_LENGTH + 1} characters long: at most ${MAX_WEBHOOK_LENGTH} are accepted`,
      });
      expect(keptWrong).toBe(0);
      expect(drift.find((row) => row.accountId === "hook-cap")?.newValue).toBe(atCap);
      // Two changed fields per hostile account: the value that left, the value that came.
      expect(drift.filter((row) => /^hook-\d+$/.test(row.accountId))).toHaveLength(2 * HOSTILE.length);
    } finally {
      await h.close();
      await simulator.close();
    }
  });
});

describe("a redirect to another host", () => {
  let attacker: Server;
  const received: { url: string; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    // Answers any request with a valid account, so a client that followed the redirect would succeed.
    attacker = createServer((req, res) => {
      received.push({ url: req.url ?? "", authorization: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(simulatedAccount(999)));
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  });

  afterAll(async () => {
    attacker?.closeAllConnections();
    await new Promise((resolve) => attacker?.close(resolve));
  });

  it("never receives the token, or any request: the account fails with a message naming both origins", async () => {
    const simulator = await startSimulator({ token: FAULT_TOKEN, accounts: 30 });
    const h = await syncHarness("redirect to another host", simulator);
    try {
      const ids = simulator.listIds();
      await h.track(ids);
      const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
      const simPort = simulator.port;
      const redirects: [
        id: string,
        location: string,
        status: 301 | 302 | 303 | 307 | 308,
        origin: string | null,
      ][] = [
        ["acc-00001", `${attackerUrl}/integrator/account/acc-00001/`, 302, attackerUrl],
        ["acc-00002", `//127.0.0.1:${(attacker.address() as AddressInfo).port}/steal`, 301, attackerUrl],
        [
          "acc-00003",
          `http://localhost:${simPort}/integrator/account/acc-00003/`,
          307,
          `http://localhost:${simPort}`,
        ],
        [
          "acc-00004",
          `https://127.0.0.1:${simPort}/integrator/account/acc-00004/`,
          308,
          `https://127.0.0.1:${simPort}`,
        ],
        [
          "acc-00005",
          `http://${FAULT_TOKEN}@127.0.0.1:${(attacker.address() as AddressInfo).port}/`,
          303,
          attackerUrl,
        ],
        // A same-origin hop first, to the account's own path (no trailing slash), whose answer
        // redirects away (the hop is added below, before this).
        ["acc-00006", `${attackerUrl}/second-hop`, 302, attackerUrl],
        // Same origin, another account: its answer would be stored as this account's.
        ["acc-00007", "/integrator/account/acc-00008/", 307, null],
      ];
      for (const [id, location, status] of redirects)
        simulator.setFault({ type: "redirect", location, status }, { accountId: id });
      simulator.setFault(
        { type: "redirect", location: "/integrator/account/acc-00006", status: 308 },
        { accountId: "acc-00006", times: 1 },
      );
      const run = await h.sync({ client: h.client() });

      const redirected = new Set(redirects.map(([id]) => id));
      const stored = await readStoredAccounts(h.db.url, [...redirected]);
      const wrong = redirects.flatMap(([id, location, , origin]) => {
        const row = stored.get(id);
        const problem =
          origin === null
            ? `redirect to another path ("${location}") not followed: its answer is not this account's`
            : `redirect to ${origin} not followed: the token must not leave ${simulator.url}`;
        const expected = `Plugchat sent an invalid response for account ${id}: ${problem}`;
        return row?.status === "failed" && row.error === expected
          ? []
          : [`${id}: ${row?.status} ${row?.error}`];
      });
      const others = ids.filter((id) => !redirected.has(id));
      const mismatches = await compareWithPlugchat(h.db.url, others, (id) => simulator.getAccount(id));
      await recordScenarioResult(h.db.url, {
        scenario: "redirect to another host",
        faultsInjected: simulator.faultsInjected().total,
        runs: 1,
        accountsChecked: ids.length,
        mismatches: mismatches.length + wrong.length + received.length,
      });

      expect(received).toEqual([]);
      expect(wrong).toEqual([]);
      expect(mismatches).toEqual([]);
      expect(run).toMatchObject({ status: "partial", accountsFailed: redirects.length });
      // A refused redirect is final: no retry that would ask again.
      expect(simulator.requestCount("acc-00001")).toBe(1);
      // The hop to its own path was followed; another account's path was never asked for it.
      expect(simulator.requestCount("acc-00006")).toBe(2);
      expect(simulator.requestCount("acc-00008")).toBe(1);
    } finally {
      await h.close();
      await simulator.close();
    }
  });
});
