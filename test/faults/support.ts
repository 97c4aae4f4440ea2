// Shared by the fault suite (test/faults/): one token to hunt for, a tally of what each scenario
// injected and found, and the checks every scenario ends with (stored accounts equal Plugchat's, no
// drift recorded twice). Results and captured outputs go to a directory the global setup owns, which
// prints the summary table and searches every captured output for the token at the end.

import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import type { PlugchatAccount } from "../../src/plugchat/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    faultSuiteDir: string;
  }
}

/**
 * The Plugchat token of the whole suite. Distinctive so that a search for it cannot match anything
 * by chance; the global teardown fails the suite if it turns up in any captured output.
 */
export const FAULT_TOKEN = "pcs-fault-suite-token-3f9c2a7e1b";

/** One line of the summary table. */
export interface FaultResult {
  /** Short name of the scenario, e.g. "30% transient Plugchat errors". */
  scenario: string;
  faultsInjected: number;
  runs: number;
  accountsChecked: number;
  mismatches: number;
  duplicateDriftRows: number;
}

function suiteDir(): string {
  return inject("faultSuiteDir");
}

/** Adds a line to the summary table. Call it before asserting, so a failing scenario still shows. */
export function recordFaultResult(result: FaultResult): void {
  appendFileSync(join(suiteDir(), "results.jsonl"), `${JSON.stringify(result)}\n`);
}

/**
 * Adds the line of a scenario that ran on `databaseUrl` to the summary table, with the drift rows it
 * recorded twice counted there, and returns that count. Call it before asserting, as above.
 */
export async function recordScenarioResult(
  databaseUrl: string,
  result: Omit<FaultResult, "duplicateDriftRows">,
): Promise<number> {
  const duplicates = await duplicateDriftRows(databaseUrl);
  recordFaultResult({ ...result, duplicateDriftRows: duplicates });
  return duplicates;
}

/**
 * Keeps text the project produced (log lines, CLI output, error messages, stored rows) for the
 * final search for the token. `source` says where it came from, for the failure message.
 */
export function recordOutput(source: string, text: string): void {
  const dir = join(suiteDir(), "outputs");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${Date.now()}-${randomBytes(4).toString("hex")}.txt`), `${source}\n${text}`);
}

/** Every row of every table in the public schema, as JSON lines: what the database holds, as text. */
export async function databaseText(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    const lines: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await client.query<{ row: unknown }>(`SELECT row_to_json(t) AS row FROM ${name} t`);
      for (const { row } of rows.rows) lines.push(`${name} ${JSON.stringify(row)}`);
    }
    return lines.join("\n");
  } finally {
    await client.end();
  }
}

/** Records the whole database for the token search, and returns its text for local checks. */
export async function recordDatabase(source: string, databaseUrl: string): Promise<string> {
  const text = await databaseText(databaseUrl);
  recordOutput(`database: ${source}`, text);
  return text;
}

const COLUMNS: Record<keyof PlugchatAccount, string> = {
  externalId: "external_id",
  name: "name",
  active: "active",
  onStartAttendance: "on_start_attendance",
  onFinishAttendance: "on_finish_attendance",
  onReceiveMessage: "on_receive_message",
  onSendingMessage: "on_sending_message",
  onMessageStatus: "on_message_status",
  onMessageDeliveryError: "on_message_delivery_error",
};

export interface AccountMismatch {
  id: string;
  field: keyof PlugchatAccount | "last_status";
  stored: unknown;
  expected: unknown;
}

/**
 * Compares every stored account in `ids` with what Plugchat (the simulator) holds: each field equal,
 * and `last_status` 'ok'. Accounts Plugchat does not have must be stored as 'not_found'.
 */
export async function compareWithPlugchat(
  databaseUrl: string,
  ids: readonly string[],
  plugchat: (id: string) => PlugchatAccount | undefined,
): Promise<AccountMismatch[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT id, last_status, ${Object.values(COLUMNS).join(", ")} FROM accounts WHERE id = ANY($1::text[])`,
      [ids],
    );
    const stored = new Map(rows.map((row) => [row.id as string, row]));
    const mismatches: AccountMismatch[] = [];
    for (const id of ids) {
      const row = stored.get(id);
      const expected = plugchat(id);
      const status = row?.last_status;
      if (expected === undefined) {
        if (status !== "not_found")
          mismatches.push({ id, field: "last_status", stored: status, expected: "not_found" });
        continue;
      }
      if (status !== "ok") {
        mismatches.push({ id, field: "last_status", stored: status, expected: "ok" });
        continue;
      }
      for (const [field, column] of Object.entries(COLUMNS) as [keyof PlugchatAccount, string][]) {
        // A field Plugchat's answer leaves out (onMessageDeliveryError) says nothing about it.
        if (expected[field] === undefined) continue;
        if (row?.[column] !== expected[field]) {
          mismatches.push({ id, field, stored: row?.[column], expected: expected[field] });
        }
      }
    }
    return mismatches;
  } finally {
    await client.end();
  }
}

/**
 * Drift rows that repeat a change already recorded: the same account, field, old and new value more
 * than once. Scenarios make every real change unique (a new value each time), so any repeat is a
 * change recorded twice, e.g. by a batch written again after a crash.
 */
export async function duplicateDriftRows(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ duplicates: string }>(
      `SELECT (count(*) - count(DISTINCT (account_id, field, old_value, new_value)))::text AS duplicates
         FROM account_drift`,
    );
    return Number(rows[0]?.duplicates ?? 0);
  } finally {
    await client.end();
  }
}
