// How long a command takes to answer, and its peak memory, beside `node -e 0` measured alternately in
// the same run: `plugchat-sync --help`, and `report` on a database of 10,000 accounts with history (two
// runs, the second with 5,000 drift events). Whole processes, as a user starts them; medians.
import { CLI, measuringPlace, run } from "./cli-process.mjs";
import { resetAccounts, withClient } from "./database.mjs";
import { simulatedIds } from "./memory.mjs";
import { BENCH_TOKEN, startSimulatorProcess } from "./simulator.mjs";

/** { samples, helpWallRatio, helpPeakMB, reportWallRatio, reportPeakMB, nodeWallMs, helpWallMs, reportWallMs, nodePeakMB } */
export async function measureStartup({ url, accounts = 10_000, samples = 9, progress }) {
  await databaseWithHistory(url, accounts, progress);
  const place = measuringPlace();
  try {
    const env = { ...process.env, DATABASE_URL: url, LOG_LEVEL: "warn" };
    const measures = {
      node: () => place.timed(["-e", "0"], env),
      help: () => place.timed([CLI, "--help"], env),
      report: () => place.timed([CLI, "report"], env),
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
    place.close();
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

function round(value) {
  return Math.round(value * 100) / 100;
}
