// The reporting questions as a new user would ask them, over a simulated month: accounts changed,
// deleted (404) and restored on the simulator between runs, each run back-dated to its day (its rows
// moved back in time, as if it had run then). accounts_as_of at any past instant answers what the
// simulator answered at that time, and accounts_by_day counts each day's end.
import { beforeAll, expect, it } from "vitest";
import type { PlugchatAccount } from "../../src/plugchat/index.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";
import { syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "reporting-history-token";
const ACCOUNTS = 8;
const DAYS = 30;
const env = useSimulatorWithDatabase({ token: TOKEN, accounts: ACCOUNTS });

const DAY_MS = 86_400_000;
/** UTC midnight starting the first simulated day: DAYS days ago, so the last run is yesterday. */
const firstDay = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAYS * DAY_MS;
const instant = (day: number, hour: number) => new Date(firstDay + day * DAY_MS + hour * 3_600_000);
const dayText = (day: number) => instant(day, 0).toISOString().slice(0, 10);

/** What the simulator answered for one account: its values, or 404. */
type Answered = { exists: true; name: string; active: boolean } | { exists: false };

/** Each run's time and the simulator's answers then, in run order. */
const runs: { at: Date; answers: Map<string, Answered> }[] = [];

/** A small deterministic generator (so the month is the same on every run of the test). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** Changes some accounts on the simulator: renames, `active` flipped, deletions (404), comebacks. */
function changeSimulator(next: () => number, deleted: Map<string, PlugchatAccount>): void {
  for (const id of env.simulator.listIds().concat([...deleted.keys()])) {
    const roll = next();
    const gone = deleted.get(id);
    if (gone) {
      if (roll < 0.4) {
        env.simulator.setAccount(id, gone);
        deleted.delete(id);
      }
    } else if (roll < 0.1) {
      deleted.set(id, env.simulator.getAccount(id) as PlugchatAccount);
      env.simulator.deleteAccount(id);
    } else if (roll < 0.3) env.simulator.setAccount(id, { name: `name ${Math.floor(next() * 1000)}` });
    else if (roll < 0.45) env.simulator.setAccount(id, { active: !env.simulator.getAccount(id)?.active });
  }
}

function answers(ids: readonly string[]): Map<string, Answered> {
  return new Map(
    ids.map((id): [string, Answered] => {
      const account = env.simulator.getAccount(id);
      return [id, account ? { exists: true, name: account.name, active: account.active } : { exists: false }];
    }),
  );
}

/** Moves what run `runId` wrote to `at`: the run, its drift, the versions it opened and those it closed. */
async function backdate(runId: number, at: Date): Promise<void> {
  await env.prisma.$executeRaw`
    WITH run AS (SELECT started_at FROM sync_runs WHERE id = ${runId}),
         closed AS (
           UPDATE account_versions v SET valid_to = ${at}
             FROM run WHERE v.valid_to >= run.started_at
           RETURNING v.id),
         opened AS (
           UPDATE account_versions SET valid_from = ${at} WHERE run_id = ${runId}
           RETURNING id),
         drift AS (
           UPDATE account_drift SET detected_at = ${at} WHERE sync_run_id = ${runId}
           RETURNING id)
    UPDATE sync_runs SET started_at = ${at}, finished_at = ${at}, heartbeat_at = ${at} WHERE id = ${runId}`;
}

beforeAll(async () => {
  const ids = env.simulator.listIds();
  const next = random(22);
  const deleted = new Map<string, PlugchatAccount>();
  for (let day = 0; day < DAYS; day++) {
    // Two runs on every fifth day: the day's counts are those after the later one.
    for (const hour of day % 5 === 2 ? [9, 20] : [12]) {
      if (day > 0) changeSimulator(next, deleted);
      const summary = await syncWithSimulator({ ...env, token: TOKEN });
      expect(summary.status).toBe("succeeded");
      const at = instant(day, hour);
      await backdate(summary.runId, at);
      runs.push({ at, answers: answers(ids) });
    }
  }
  // The month must hold what the test is about.
  const all = runs.flatMap((run) => [...run.answers.values()]);
  expect(all.filter((answer) => !answer.exists).length).toBeGreaterThan(5);
}, 120_000);

interface AsOfRow {
  account_id: string;
  exists: boolean;
  name: string;
  active: boolean;
}

async function accountsAsOf(at: Date): Promise<Map<string, Answered>> {
  const rows = await env.prisma.$queryRaw<AsOfRow[]>`
    SELECT account_id, exists, name, active FROM accounts_as_of(${at}) ORDER BY account_id`;
  return new Map(
    rows.map((row): [string, Answered] => [
      row.account_id,
      row.exists ? { exists: true, name: row.name, active: row.active } : { exists: false },
    ]),
  );
}

it("accounts_as_of at any instant of the month answers what the simulator answered then", async () => {
  expect(await accountsAsOf(instant(0, 6)), "before the first run: nothing known").toEqual(new Map());
  for (const [index, run] of runs.entries()) {
    // Right at the run, and an hour later (before the next run).
    expect(await accountsAsOf(run.at), `at run ${index}`).toEqual(run.answers);
    expect(await accountsAsOf(new Date(run.at.getTime() + 3_600_000)), `after run ${index}`).toEqual(
      run.answers,
    );
  }
  // The accounts as they are now equal the last run's answers.
  expect(await accountsAsOf(new Date())).toEqual(runs.at(-1)?.answers);
});

it("accounts_by_day counts, per UTC day from the first run to today, the accounts at the end of the day", async () => {
  const rows = await env.prisma.$queryRaw<
    { day: string; existing: number; active: number; inactive: number; missing: number }[]
  >`SELECT to_char(day, 'YYYY-MM-DD') AS day, existing, active, inactive, missing FROM accounts_by_day ORDER BY day`;
  const expected = Array.from({ length: DAYS + 1 }, (_, day) => {
    // The last run at or before the end of the day (today: the last run of all).
    const last = runs.filter((run) => run.at < instant(day + 1, 0)).at(-1);
    const answered = [...(last?.answers.values() ?? [])];
    const existing = answered.filter((answer) => answer.exists);
    return {
      day: dayText(day),
      existing: existing.length,
      active: existing.filter((answer) => answer.active).length,
      inactive: existing.filter((answer) => !answer.active).length,
      missing: answered.length - existing.length,
    };
  });
  expect(rows).toEqual(expected);
});
