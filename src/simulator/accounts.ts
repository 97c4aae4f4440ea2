import type { PlugchatAccount } from "../plugchat/index.js";

const KINDS = [
  "Padaria",
  "Clínica",
  "Auto Peças",
  "Ótica",
  "Pet Shop",
  "Academia",
  "Farmácia",
  "Imobiliária",
];
const PLACES = ["Aurora", "Central", "São Jorge", "Boa Vista", "Primavera", "Estrela", "Horizonte"];

/** `acc-00001` for 1: the ids `accounts: N` generates. */
export function simulatedAccountId(index: number): string {
  return `acc-${String(index).padStart(5, "0")}`;
}

/**
 * A plausible account, the same for the same index on every run, so tests, demos and benchmarks
 * can state what they expect. The mix (some inactive, some webhooks unset, a few without
 * externalId) gives the sync something to store and compare.
 */
export function simulatedAccount(index: number): PlugchatAccount {
  const id = simulatedAccountId(index);
  const cycle = Math.floor(index / (KINDS.length * PLACES.length));
  const name = `${KINDS[index % KINDS.length]} ${PLACES[Math.floor(index / KINDS.length) % PLACES.length]}`;
  const hook = (event: string) => `https://hooks.example.com/plugchat/${id}/${event}`;
  return {
    externalId: index % 25 === 0 ? null : `cust-${index}`,
    name: cycle === 0 ? name : `${name} ${cycle + 1}`,
    active: index % 10 !== 0,
    onStartAttendance: index % 3 === 0 ? null : hook("start-attendance"),
    onFinishAttendance: index % 3 === 0 ? null : hook("finish-attendance"),
    onReceiveMessage: hook("receive-message"),
    onSendingMessage: index % 2 === 0 ? hook("sending-message") : null,
    onMessageStatus: index % 4 === 0 ? null : hook("message-status"),
  };
}

export function simulatedAccounts(count: number): Map<string, PlugchatAccount> {
  const accounts = new Map<string, PlugchatAccount>();
  for (let index = 1; index <= count; index++)
    accounts.set(simulatedAccountId(index), simulatedAccount(index));
  return accounts;
}

/** What `setAccount` starts from for an id it does not know yet. */
export function blankAccount(id: string): PlugchatAccount {
  return {
    externalId: null,
    name: `Account ${id}`,
    active: true,
    onStartAttendance: null,
    onFinishAttendance: null,
    onReceiveMessage: null,
    onSendingMessage: null,
    onMessageStatus: null,
  };
}
