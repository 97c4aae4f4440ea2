// onMessageDeliveryError, the sixth webhook (on Plugchat's create-account page, not its get-account
// page): synced and drifted like the other five when an answer has it; an answer that leaves it out
// says nothing about it.
import { expect, it } from "vitest";
import { useSimulatorWithDatabase } from "../helpers/simulator-database.js";
import { driftOfRun, syncWithSimulator } from "../helpers/simulator-sync.js";

const TOKEN = "delivery-error-token";
const env = useSimulatorWithDatabase({ token: TOKEN, accounts: 2 });
const HOOK = "https://app.example.com/plugchat/delivery-error";

function sync() {
  return syncWithSimulator({ ...env, token: TOKEN }, { concurrency: 2 });
}

async function stored(id: string) {
  return (await env.prisma.account.findUniqueOrThrow({ where: { id } })).onMessageDeliveryError;
}

function driftOf(runId: number) {
  return driftOfRun(env.prisma, runId);
}

it("syncs onMessageDeliveryError when the answer has it, and keeps it when the answer leaves it out", async () => {
  const [id, other] = env.simulator.listIds() as [string, string];
  env.simulator.setAccount(other, { onMessageDeliveryError: HOOK });
  const first = await sync();
  expect(first.unknownFields, "a known field now").toEqual([]);
  expect(await stored(id)).toBeNull();
  expect(await stored(other), "a baseline with it").toBe(HOOK);

  env.simulator.setAccount(id, { onMessageDeliveryError: HOOK });
  const second = await sync();
  expect(await driftOf(second.runId)).toEqual([
    { accountId: id, field: "onMessageDeliveryError", oldValue: null, newValue: HOOK },
  ]);

  // Left out of the answer (undefined is not serialised), while another field changes: drift for that
  // field only, and the stored value kept.
  const before = env.simulator.getAccount(id)?.name ?? null;
  env.simulator.setAccount(id, { onMessageDeliveryError: undefined, name: "Renamed Ltda" });
  const third = await sync();
  expect(await driftOf(third.runId)).toEqual([
    { accountId: id, field: "name", oldValue: before, newValue: "Renamed Ltda" },
  ]);
  expect(await stored(id)).toBe(HOOK);

  // Sent as null: that is a change.
  env.simulator.setAccount(id, { onMessageDeliveryError: null });
  const fourth = await sync();
  expect(await driftOf(fourth.runId)).toEqual([
    { accountId: id, field: "onMessageDeliveryError", oldValue: HOOK, newValue: null },
  ]);
  expect(await stored(id)).toBeNull();
  const [view] = await env.prisma.$queryRaw<{ on_message_delivery_error: string | null }[]>`
    SELECT on_message_delivery_error FROM account_current_state WHERE account_id = ${other}`;
  expect(view?.on_message_delivery_error, "in the view too").toBe(HOOK);
});
