// How long a command takes to answer, and its peak memory, beside `node -e 0` measured alternately in
// the same run: `plugchat-sync --help`, and `report` on a database of 10,000 accounts with history (two
// runs, the second with 5,000 drift events). Whole processes, as a user starts them; medians.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { resetAccounts, withClient } from "./database.mjs";
import { simulatedIds } from "./memory.mjs";
import { BENCH_TOKEN, startSimulatorProcess } from "./simulator.mjs";

const CLI = resolve("dist/cli/main.js");

/** { samples, helpWallRatio, helpPeakMB, reportWallRatio, reportPeakMB, nodeWallMs, helpWallMs, reportWallMs, nodePeakMB } */
export async function measureStartup({ url, accounts = 10_000, samples = 9, progress }) {
  await databaseWithHistory(url, accounts, progress);
  const dir = mkdtempSync(join(tmpdir(), "plugchat-bench-startup-"));
  try {
    const preload = peakRssPreload(dir);
    const env = { ...process.env, DATABASE_URL: url, LOG_LEVEL: "warn" };
    const measures = {
      node: () => timed(process.execPath, ["--import", preload, "-e", "0"], env, dir),
      help: () => timed(process.execPath, ["--import", preload, CLI, "--help"], env, dir),
      report: () => timed(process.execPath, ["--import", preload, CLI, "report"], env, dir),
    };
    const results = { node: [], help: [], report: [] };
    // Alternately, so that a busy moment of the machine weighs on each alike.
    for (let sample = 0; sample < samples; sample++) {
      for (const [name, measure] of Object.entries(measures)) results[name].push(await measure());
    }
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const wall = (name) => median(results[name].map((result) => result.wallMs));
    const peak = (name) => median(results[name].map((result) => result.peakMB));
    const figures = {
      samples,
      nodeWallMs: round(wall("node")),
      helpWallMs: round(wall("help")),
      reportWallMs: round(wall("report")),
      helpWallRatio: round(wall("help") / wall("node")),
      reportWallRatio: round(wall("report") / wall("node")),
      nodePeakMB: round(peak("node")),
      helpPeakMB: round(peak("help")),
      reportPeakMB: round(peak("report")),
    };
    progress(
      `startup: --help ${figures.helpWallRatio}x node -e 0 (${figures.helpPeakMB} MB), report ${figures.reportWallRatio}x (${figures.reportPeakMB} MB)`,
    );
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await resetAccounts(url, []);
  }
}

/** 10,000 accounts synced twice through the CLI, the second run finding 5,000 names changed. */
async function databaseWithHistory(url, accounts, progress) {
  const simulator = await startSimulatorProcess(accounts);
  try {
    await resetAccounts(url, simulatedIds(accounts));
    const env = {
      ...process.env,
      DATABASE_URL: url,
      PLUGCHAT_BASE_URL: simulator.url,
      PLUGCHAT_TOKEN: BENCH_TOKEN,
      LOG_LEVEL: "warn",
    };
    await run(process.execPath, [CLI, "sync"], env);
    await withClient(url, (client) =>
      client.query(
        "UPDATE accounts SET name = name || ' (before)' WHERE id IN (SELECT id FROM accounts ORDER BY id LIMIT $1)",
        [Math.floor(accounts / 2)],
      ),
    );
    await run(process.execPath, [CLI, "sync"], env);
    progress(`startup: a database of ${accounts} accounts with two runs and their drift`);
  } finally {
    await simulator.close();
  }
}

/**
 * A preload that writes the process's peak RSS (kB) to the file named by PEAK_RSS_FILE as it exits.
 * Linux's VmHWM, not resourceUsage().maxRSS: the latter keeps the parent's peak across fork and exec,
 * so every child of this (larger) bench process would report at least the bench's own size.
 */
function peakRssPreload(dir) {
  const path = join(dir, "peak-rss.mjs");
  writeFileSync(
    path,
    `import { readFileSync, writeFileSync } from "node:fs";
process.on("exit", () => {
  const status = (() => { try { return readFileSync("/proc/self/status", "utf8"); } catch { return ""; } })();
  const hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(status)?.[1];
  writeFileSync(process.env.PEAK_RSS_FILE, hwm ?? String(process.resourceUsage().maxRSS));
});
`,
  );
  return path;
}

let measured = 0;

async function timed(command, args, env, dir) {
  const file = join(dir, `rss-${measured++}`);
  const started = performance.now();
  await run(command, args, { ...env, PEAK_RSS_FILE: file });
  const wallMs = performance.now() - started;
  return { wallMs, peakMB: Number(readFileSync(file, "utf8")) / 1024 };
}

function run(command, args, env) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0
        ? resolveRun()
        : reject(new Error(`${args.join(" ")} exited ${code}: ${stderr.slice(-500)}`)),
    );
  });
}

function round(value) {
  return Math.round(value * 100) / 100;
}
