// Shared by the process and infrastructure fault scenarios: a seeded random source, a fleet of real
// worker processes (the built CLI) that knows which exits it caused, changes made to Plugchat between
// runs with the drift they must produce, and the checks run after each run.
import pg from "pg";
import type { PlugchatAccount } from "../../src/plugchat/index.js";
import type { Simulator } from "../../src/simulator/index.js";
import { type CliProcess, inheritedEnv, spawnCli } from "../helpers/cli.js";
import { waitFor } from "../queue/helpers.js";
import { FAULT_TOKEN, type FaultResult, recordFaultResult, recordOutput } from "./support.js";

/**
 * Runs a scenario with its line of the summary table, which it fills in as it goes; the line is
 * recorded however the scenario ends, a timeout or a failed assertion included.
 */
export async function tallied(scenario: string, body: (tally: FaultResult) => Promise<void>): Promise<void> {
  const tally: FaultResult = {
    scenario,
    faultsInjected: 0,
    runs: 0,
    accountsChecked: 0,
    mismatches: 0,
    duplicateDriftRows: 0,
  };
  try {
    await body(tally);
  } finally {
    recordFaultResult(tally);
  }
}

/** FAULT_SEED when set (to replay a failure), otherwise a new one; print it. */
export function faultSeed(): number {
  const fixed = process.env.FAULT_SEED;
  if (fixed !== undefined && fixed.trim() !== "") {
    const seed = Number(fixed);
    if (!Number.isSafeInteger(seed)) throw new Error(`FAULT_SEED=${fixed} is not a whole number`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

export interface Random {
  /** In [0, 1). */
  next(): number;
  /** A whole number in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** `count` distinct items, in random order. */
  sample<T>(items: readonly T[], count: number): T[];
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error("pick from an empty list");
      return items[int(0, items.length - 1)] as (typeof items)[number];
    },
    sample: (items, count) => {
      const pool = [...items];
      for (let i = pool.length - 1; i > 0; i--) {
        const j = int(0, i);
        [pool[i], pool[j]] = [pool[j] as (typeof pool)[number], pool[i] as (typeof pool)[number]];
      }
      return pool.slice(0, count);
    },
  };
}

export interface WorkerSettings {
  databaseUrl: string;
  /** Unset: the queues in PostgreSQL, as a deployment with no REDIS_URL gets them. */
  redisUrl: string | undefined;
  queuePrefix: string;
  plugchatUrl: string;
  cron: string;
  batchSize: number;
  concurrency: number;
}

/**
 * The environment of a scenario's worker processes and commands. A killed worker's batch goes to
 * another after about 2 s (lock) + 2 × 1 s (stalled checks); a stopped one has 10 s to finish.
 */
export function workerEnv(settings: WorkerSettings): Record<string, string> {
  return {
    DATABASE_URL: settings.databaseUrl,
    ...(settings.redisUrl ? { REDIS_URL: settings.redisUrl } : { REDIS_URL: "", QUEUE_BACKEND: "" }),
    QUEUE_PREFIX: settings.queuePrefix,
    PLUGCHAT_BASE_URL: settings.plugchatUrl,
    PLUGCHAT_TOKEN: FAULT_TOKEN,
    SYNC_CRON: settings.cron,
    SYNC_BATCH_SIZE: String(settings.batchSize),
    SYNC_CONCURRENCY: String(settings.concurrency),
    SYNC_MAX_ATTEMPTS: "3",
    LOG_LEVEL: "info",
    METRICS_PORT: "0",
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
    WORKER_SHUTDOWN_TIMEOUT_MS: "10000",
  };
}

const isRunning = (process: CliProcess) =>
  process.child.exitCode === null && process.child.signalCode === null;

/**
 * Worker processes (`plugchat-sync worker`, built), all with the same environment. Every exit is
 * either one the fleet caused (a kill, a stop) or a crash: a worker must never exit on its own.
 */
export class WorkerFleet {
  readonly started: CliProcess[] = [];
  readonly #expectedExits = new Set<CliProcess>();

  constructor(private readonly env: () => Record<string, string>) {}

  /** A worker with the fleet's environment, `extra` on top of it. */
  start(extra: Record<string, string> = {}): CliProcess {
    const worker = spawnCli(["worker"], inheritedEnv({ ...this.env(), ...extra }));
    this.started.push(worker);
    return worker;
  }

  async ready(worker: CliProcess, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `worker ${worker.child.pid} ready`,
      () => {
        if (!isRunning(worker)) throw new Error(`worker ${worker.child.pid} exited before it was ready`);
        return worker.logs().some((line) => line.msg === "worker ready");
      },
      timeoutMs,
      50,
    );
  }

  alive(): CliProcess[] {
    return this.started.filter(isRunning);
  }

  /** SIGKILL: no shutdown at all, as an OOM kill or a lost machine. */
  async kill(worker: CliProcess): Promise<void> {
    this.#expectedExits.add(worker);
    worker.child.kill("SIGKILL");
    await worker.exited;
  }

  /** SIGTERM to one worker (a graceful stop: a deploy, a scale-down); its exit. */
  async stop(worker: CliProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.#expectedExits.add(worker);
    worker.child.kill("SIGTERM");
    return worker.exited;
  }

  /** Workers that exited without being killed or stopped: crashes. */
  crashed(): { pid: number | undefined; code: number | null; signal: NodeJS.Signals | null }[] {
    return this.started
      .filter((worker) => !isRunning(worker) && !this.#expectedExits.has(worker))
      .map((worker) => ({
        pid: worker.child.pid,
        code: worker.child.exitCode,
        signal: worker.child.signalCode,
      }));
  }

  /** SIGTERM to every live worker; their exits (a clean stop is code 0). SIGKILL after the timeout. */
  async stopAll(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }[]> {
    const alive = this.alive();
    for (const worker of alive) {
      this.#expectedExits.add(worker);
      worker.child.kill("SIGTERM");
    }
    const timer = setTimeout(() => {
      for (const worker of alive) if (isRunning(worker)) worker.child.kill("SIGKILL");
    }, timeoutMs);
    try {
      return await Promise.all(alive.map((worker) => worker.exited));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every worker's stdout and stderr, for the suite's token search. */
  record(label: string): void {
    for (const worker of this.started) {
      recordOutput(`${label}: worker ${worker.child.pid} stderr`, worker.stderr());
      recordOutput(`${label}: worker ${worker.child.pid} stdout`, worker.stdout());
    }
  }

  /** Log lines of every worker with this message. */
  logged(msg: string): Record<string, unknown>[] {
    return this.started.flatMap((worker) => worker.logs().filter((line) => line.msg === msg));
  }
}

/** One drift row a run must write: a real change of one field. */
export interface DriftRow {
  accountId: string;
  field: string;
  newValue: string | null;
}

const CHANGEABLE = ["name", "externalId", "onReceiveMessage", "onMessageStatus", "active"] as const;

/**
 * Changes random accounts on Plugchat, each field to a value it never had (so each change is exactly
 * one drift row, and a repeat can only be a duplicate), and says which drift rows that must produce.
 * `active` changes at most once per account: a boolean flipped back and forth repeats its values.
 */
export class PlugchatChanges {
  readonly #flipped = new Set<string>();

  constructor(
    private readonly simulator: Simulator,
    private readonly random: Random,
  ) {}

  apply(round: number, accounts: number): { drift: DriftRow[]; changedAccounts: number } {
    const drift: DriftRow[] = [];
    const ids = this.random.sample(this.simulator.listIds(), accounts);
    for (const id of ids) {
      const current = this.simulator.getAccount(id);
      if (!current) throw new Error(`the simulator has no account ${id}`);
      const fields = this.random
        .sample(
          CHANGEABLE.filter((field) => field !== "active" || !this.#flipped.has(id)),
          this.random.int(1, 3),
        )
        .sort();
      const update: Partial<PlugchatAccount> = {};
      for (const field of fields) {
        if (field === "active") {
          this.#flipped.add(id);
          update.active = !current.active;
          drift.push({ accountId: id, field, newValue: String(!current.active) });
          continue;
        }
        let value: string | null = `r${round}-${id}-${field}`;
        if (field === "onReceiveMessage" || field === "onMessageStatus") {
          // Sometimes a webhook is unset (SQL null), never twice in a row.
          value =
            current[field] !== null && this.random.next() < 0.25
              ? null
              : `https://hooks.example.com/r${round}/${id}/${field}`;
        }
        update[field] = value as never;
        drift.push({ accountId: id, field, newValue: value });
      }
      this.simulator.setAccount(id, update);
    }
    return { drift, changedAccounts: ids.length };
  }
}

/** Runs one query on a connection of its own (the server may restart between two queries). */
export async function query<T extends pg.QueryResultRow>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RunRow {
  id: number;
  status: string;
  error: string | null;
  accounts_total: number;
  accounts_changed: number;
  accounts_unchanged: number;
  accounts_failed: number;
  accounts_not_found: number;
  drift_count: number;
}

export async function lastRunId(databaseUrl: string): Promise<number> {
  const [row] = await query<{ id: number | null }>(databaseUrl, "SELECT max(id) AS id FROM sync_runs");
  return row?.id ?? 0;
}

/** The first run after `afterId`, once it exists. */
export async function runOpenedAfter(
  databaseUrl: string,
  afterId: number,
  timeoutMs = 30_000,
): Promise<number> {
  return waitFor(
    `a run after #${afterId}`,
    async () =>
      (await query<{ id: number }>(databaseUrl, "SELECT id FROM sync_runs WHERE id > $1", [afterId]))[0]?.id,
    timeoutMs,
    100,
  );
}

export async function runRow(databaseUrl: string, runId: number): Promise<RunRow | undefined> {
  const [row] = await query<RunRow>(databaseUrl, "SELECT * FROM sync_runs WHERE id = $1", [runId]);
  return row;
}

/** Waits until the run is closed (whatever its status), tolerating a database that is restarting. */
export async function closedRun(databaseUrl: string, runId: number, timeoutMs = 60_000): Promise<RunRow> {
  return waitFor(
    `run #${runId} closed`,
    async () => {
      const row = await runRow(databaseUrl, runId).catch(() => undefined);
      return row && row.status !== "running" ? row : undefined;
    },
    timeoutMs,
    100,
  );
}

export async function writtenBatches(databaseUrl: string, runId: number): Promise<number> {
  const [row] = await query<{ count: number }>(
    databaseUrl,
    "SELECT count(*)::int AS count FROM sync_run_batches WHERE run_id = $1",
    [runId],
  );
  return row?.count ?? 0;
}

export interface RunExpectation {
  runId: number;
  accounts: number;
  batches: number;
  changedAccounts: number;
  drift: readonly DriftRow[];
}

const driftKey = (row: DriftRow) => JSON.stringify([row.accountId, row.field, row.newValue]);

/** What differs between the drift rows of `runIds` and the expected ones, as readable lines. */
export async function driftDifferences(
  databaseUrl: string,
  runIds: readonly number[],
  expected: readonly DriftRow[],
): Promise<string[]> {
  const rows = await query<{ account_id: string; field: string; new_value: string | null }>(
    databaseUrl,
    "SELECT account_id, field, new_value FROM account_drift WHERE sync_run_id = ANY($1::int[])",
    [runIds],
  );
  const remaining = new Map<string, number>();
  for (const row of expected) remaining.set(driftKey(row), (remaining.get(driftKey(row)) ?? 0) + 1);
  const problems: string[] = [];
  for (const row of rows) {
    const key = driftKey({ accountId: row.account_id, field: row.field, newValue: row.new_value });
    const left = remaining.get(key) ?? 0;
    if (left === 0) problems.push(`unexpected drift row ${key}`);
    else remaining.set(key, left - 1);
  }
  for (const [key, left] of remaining) if (left > 0) problems.push(`missing drift row ${key}`);
  return problems;
}

/**
 * A run that succeeded with exactly the expected outcome: every account once, every batch written
 * once, the drift rows of exactly the changes made. Returns the problems, as readable lines.
 */
export async function runProblems(databaseUrl: string, expected: RunExpectation): Promise<string[]> {
  const problems: string[] = [];
  const run = await runRow(databaseUrl, expected.runId);
  const want = {
    status: "succeeded",
    error: null,
    accounts_total: expected.accounts,
    accounts_changed: expected.changedAccounts,
    accounts_unchanged: expected.accounts - expected.changedAccounts,
    accounts_failed: 0,
    accounts_not_found: 0,
    drift_count: expected.drift.length,
  };
  for (const [column, value] of Object.entries(want)) {
    const got = run?.[column as keyof RunRow];
    if (got !== value)
      problems.push(
        `run #${expected.runId} ${column} is ${JSON.stringify(got)}, expected ${JSON.stringify(value)}`,
      );
  }
  const batches = await query<{ batch_index: number }>(
    databaseUrl,
    "SELECT batch_index FROM sync_run_batches WHERE run_id = $1 ORDER BY batch_index",
    [expected.runId],
  );
  const indexes = batches.map((batch) => batch.batch_index).join(",");
  const wantIndexes = Array.from({ length: expected.batches }, (_, index) => index).join(",");
  if (indexes !== wantIndexes)
    problems.push(`run #${expected.runId} wrote batches [${indexes}], expected [${wantIndexes}]`);
  problems.push(...(await driftDifferences(databaseUrl, [expected.runId], expected.drift)));
  return problems;
}

// The stored column of each field a drift row can name, as text the way drift rows write it.
const STORED_AS_TEXT: Record<string, string> = {
  externalId: "a.external_id",
  name: "a.name",
  active: "a.active::text",
  onStartAttendance: "a.on_start_attendance",
  onFinishAttendance: "a.on_finish_attendance",
  onReceiveMessage: "a.on_receive_message",
  onSendingMessage: "a.on_sending_message",
  onMessageStatus: "a.on_message_status",
};

/**
 * Nothing half-written, whatever was killed or restarted when:
 * - no run is left running;
 * - each run's counters are the sum of its written batches (a batch wrote all of its part or none);
 * - each run's drift_count is the number of its drift rows, and its batches' drift counts add up to it;
 * - each account's drift history is a chain: every change starts from the value the previous one
 *   ended with, and the last one ends with the stored value (no data written without its drift row,
 *   no drift row without its data).
 */
export async function halfWritten(databaseUrl: string): Promise<string[]> {
  const problems: string[] = [];
  const running = await query<{ id: number }>(
    databaseUrl,
    "SELECT id FROM sync_runs WHERE status = 'running'",
  );
  for (const { id } of running) problems.push(`run #${id} is still running`);

  const counters = await query<{
    id: number;
    accounts_total: number;
    batch_accounts: number;
    drift_count: number;
    batch_drift: number;
    drift_rows: number;
  }>(
    databaseUrl,
    `SELECT r.id, r.accounts_total, r.drift_count,
            COALESCE((SELECT sum(b.accounts) FROM sync_run_batches b WHERE b.run_id = r.id), 0)::int AS batch_accounts,
            COALESCE((SELECT sum(b.drift_count) FROM sync_run_batches b WHERE b.run_id = r.id), 0)::int AS batch_drift,
            (SELECT count(*) FROM account_drift d WHERE d.sync_run_id = r.id)::int AS drift_rows
       FROM sync_runs r ORDER BY r.id`,
  );
  for (const run of counters) {
    if (run.accounts_total !== run.batch_accounts)
      problems.push(
        `run #${run.id}: accounts_total ${run.accounts_total}, its batches wrote ${run.batch_accounts}`,
      );
    if (run.drift_count !== run.drift_rows || run.batch_drift !== run.drift_rows)
      problems.push(
        `run #${run.id}: drift_count ${run.drift_count}, batches' drift ${run.batch_drift}, drift rows ${run.drift_rows}`,
      );
  }

  const cases = Object.entries(STORED_AS_TEXT)
    .map(([field, column]) => `WHEN '${field}' THEN ${column}`)
    .join(" ");
  const chains = await query<{ account_id: string; field: string; problem: string }>(
    databaseUrl,
    `WITH d AS (
       SELECT account_id, field, old_value, new_value, id,
              lag(new_value) OVER w AS previous_new, lead(id) OVER w AS next_id, row_number() OVER w AS n
         FROM account_drift WHERE field <> 'exists'
       WINDOW w AS (PARTITION BY account_id, field ORDER BY id))
     SELECT d.account_id, d.field, 'broken chain' AS problem
       FROM d WHERE d.n > 1 AND d.old_value IS DISTINCT FROM d.previous_new
     UNION ALL
     SELECT d.account_id, d.field, 'last change differs from the stored value' AS problem
       FROM d JOIN accounts a ON a.id = d.account_id
      WHERE d.next_id IS NULL AND d.new_value IS DISTINCT FROM (CASE d.field ${cases} END)`,
  );
  for (const chain of chains) problems.push(`${chain.account_id} ${chain.field}: ${chain.problem}`);
  return problems;
}
