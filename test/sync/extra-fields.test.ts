// Every field Plugchat returns is kept: the ones the project does not model in accounts.extra, with
// their values as sent; a change in one is drift; a first appearance is reported as an unknown field;
// a value too large to keep is cut with one warning per run, never failing the account.
import { expect, it } from "vitest";
import type { PlugchatAccount } from "../../src/plugchat/index.js";
import { MAX_EXTRA_VALUE_LENGTH } from "../../src/plugchat/response.js";
import { captureLogs } from "../helpers/logs.js";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";
import { driftOfRun, syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "extra-fields-token";
const env = useSimulatorWithDatabase({ token: TOKEN, accounts: 3 });

/** Fields the simulator serves beside the modelled ones: Plugchat's API grew. */
function serve(id: string, fields: Record<string, unknown>): void {
  env.simulator.setAccount(id, fields as Partial<PlugchatAccount>);
}

async function sync() {
  const logs = captureLogs("warn");
  const summary = await syncWithSimulator({ ...env, token: TOKEN, logger: logs.logger }, { concurrency: 2 });
  return { summary, logs };
}

async function extraOf(id: string) {
  return (await env.prisma.account.findUniqueOrThrow({ where: { id } })).extra;
}

function driftOf(runId: number) {
  return driftOfRun(env.prisma, runId);
}

it("keeps unknown fields' values in accounts.extra, and records their changes as drift", async () => {
  const [id, other] = env.simulator.listIds() as [string, string];
  serve(id, { sessionName: "loja-1", plan: { tier: "pro", seats: 3 } });
  const first = await sync();
  expect(first.summary.unknownFields, "their first appearance, reported as today").toEqual([
    "plan",
    "sessionName",
  ]);
  expect(await extraOf(id)).toEqual({ sessionName: "loja-1", plan: { tier: "pro", seats: 3 } });
  expect(await extraOf(other)).toEqual({});

  serve(id, { sessionName: "loja-2", plan: { seats: 3, tier: "pro" } });
  const second = await sync();
  expect(await driftOf(second.summary.runId)).toEqual([
    { accountId: id, field: "sessionName", oldValue: "loja-1", newValue: "loja-2" },
  ]);

  // A field new to an account already synced: kept, no drift; one the answer leaves out: kept as it was.
  serve(other, { sessionName: "other" });
  env.simulator.setAccount(id, { sessionName: undefined, name: "Renamed" } as Partial<PlugchatAccount>);
  const third = await sync();
  expect(await driftOf(third.summary.runId)).toEqual([
    { accountId: id, field: "name", oldValue: expect.any(String), newValue: "Renamed" },
  ]);
  expect(await extraOf(other)).toEqual({ sessionName: "other" });
  expect(await extraOf(id)).toEqual({ sessionName: "loja-2", plan: { tier: "pro", seats: 3 } });
  const [view] = await env.prisma.$queryRaw<{ extra: unknown }[]>`
    SELECT extra FROM account_current_state WHERE account_id = ${other}`;
  expect(view?.extra, "in the view too").toEqual({ sessionName: "other" });
});

it("cuts a value too large to keep, with one warning for the run, and syncs the account all the same", async () => {
  const ids = env.simulator.listIds();
  for (const id of ids) serve(id, { blob: "x".repeat(MAX_EXTRA_VALUE_LENGTH + 1), note: "kept\u0000not" });
  const { summary, logs } = await sync();
  expect(summary.accountsFailed).toBe(0);
  expect(summary.extraCutFields).toEqual(["blob", "note"]);
  const warnings = logs.withMessage(
    "Plugchat sent values of fields this version does not model that are too large (or not storable) to keep in accounts.extra: they were cut",
  );
  expect(warnings).toHaveLength(1);
  expect(warnings[0]?.fields).toEqual(["blob", "note"]);
  for (const id of ids) expect(Object.keys((await extraOf(id)) as object)).not.toContain("blob");
  const row = await env.prisma.syncRun.findUniqueOrThrow({ where: { id: summary.runId } });
  expect(row.extraCutFields).toEqual(["blob", "note"]);
});
