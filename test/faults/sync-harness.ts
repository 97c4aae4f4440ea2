// What the Plugchat, bad-input and security scenarios of the fault suite share: a real migrated
// database, a real pino logger whose lines are kept, a client holding FAULT_TOKEN, runSync (the same
// runBatch the queue worker uses), the built CLI as a process, and the recording of everything they
// produce for the suite's final search for the token.
import { inspect } from "node:util";
import pg from "pg";
import { trackAccounts } from "../../src/accounts/repository.js";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import {
  createPlugchatClient,
  type PlugchatAccount,
  type PlugchatClient,
  type PlugchatClientOptions,
} from "../../src/plugchat/index.js";
import type { Simulator } from "../../src/simulator/index.js";
import { runSync } from "../../src/sync/run-in-process.js";
import type { RunSummary } from "../../src/sync/types.js";
import { type CliExit, runCli as runBuiltCli } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { type CapturedLogs, captureLogs } from "../helpers/logs.js";
import { FAULT_TOKEN, recordDatabase, recordOutput } from "./support.js";

export interface SyncHarness {
  db: TestDatabase;
  prisma: PrismaClient;
  logs: CapturedLogs;
  /** A client of the simulator with FAULT_TOKEN, logging to `logs`; options override the defaults. */
  client(options?: Partial<PlugchatClientOptions>): PlugchatClient;
  track(ids: readonly string[]): Promise<void>;
  sync(options: { client: PlugchatClient; concurrency?: number; batchSize?: number }): Promise<RunSummary>;
  /** Records the logs and the whole database for the token search, then drops the database. */
  close(): Promise<void>;
}

export async function syncHarness(scenario: string, simulator: Simulator): Promise<SyncHarness> {
  const db = await createMigratedTestDatabase();
  const prisma = createPrismaClient(db.url);
  const logs = captureLogs("trace");
  return {
    db,
    prisma,
    logs,
    client: (options = {}) =>
      createPlugchatClient({
        baseUrl: simulator.url,
        token: FAULT_TOKEN,
        timeoutMs: 2_000,
        maxAttempts: 3,
        maxRps: 0,
        minRetryDelayMs: 1,
        maxRetryDelayMs: 10,
        logger: logs.logger,
        ...options,
      }),
    track: async (ids) => {
      await trackAccounts(prisma, ids);
    },
    sync: ({ client, concurrency = 32, batchSize = 500 }) =>
      runSync({ prisma, client, logger: logs.logger }, { trigger: "cli", concurrency, batchSize }),
    async close() {
      try {
        recordOutput(`logs: ${scenario}`, logs.text());
        await recordDatabase(scenario, db.url);
      } finally {
        await prisma.$disconnect();
        await db.drop();
      }
    },
  };
}

/** Records an error as every printer would show it: message, stack, inspect and JSON. */
export function recordError(source: string, error: unknown): void {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
  recordOutput(`error: ${source}`, `${message}\n${inspect(error, { depth: 10 })}\n${safeJson(error)}`);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return "";
  }
}

export interface StoredAccount {
  status: string;
  error: string | null;
  consecutiveFailures: number;
  account: PlugchatAccount;
}

/** What the accounts table holds for these ids, whatever their status. */
export async function readStoredAccounts(
  databaseUrl: string,
  ids: readonly string[],
): Promise<Map<string, StoredAccount>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, unknown>>(
      `SELECT id, last_status, last_error, consecutive_failures, external_id, name, active, on_start_attendance,
              on_finish_attendance, on_receive_message, on_sending_message, on_message_status,
              on_message_delivery_error
         FROM accounts WHERE id = ANY($1::text[])`,
      [ids],
    );
    return new Map(
      rows.map((row) => [
        row.id as string,
        {
          status: row.last_status as string,
          error: row.last_error as string | null,
          consecutiveFailures: row.consecutive_failures as number,
          account: {
            externalId: row.external_id as string | null,
            name: row.name as string,
            active: row.active as boolean,
            onStartAttendance: row.on_start_attendance as string | null,
            onFinishAttendance: row.on_finish_attendance as string | null,
            onReceiveMessage: row.on_receive_message as string | null,
            onSendingMessage: row.on_sending_message as string | null,
            onMessageStatus: row.on_message_status as string | null,
            onMessageDeliveryError: row.on_message_delivery_error as string | null,
          },
        },
      ]),
    );
  } finally {
    await client.end();
  }
}

/** Fields of `stored` that differ from `expected` (all of them when nothing is stored). */
export function differingFields(
  stored: PlugchatAccount | undefined,
  expected: PlugchatAccount,
): (keyof PlugchatAccount)[] {
  const fields = Object.keys(expected) as (keyof PlugchatAccount)[];
  return fields.filter((field) => stored === undefined || stored[field] !== expected[field]);
}

/**
 * Runs the built CLI with `env` on top of a clean environment (no PLUGCHAT_* or DATABASE_URL of the
 * machine), records its stdout and stderr for the token search, and returns them.
 */
export async function runCli(
  source: string,
  args: readonly string[],
  env: Record<string, string>,
  stdin = "",
): Promise<CliExit> {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TZ", "LANG", "SYSTEMROOT"]) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const exit = await runBuiltCli(args, { ...base, LOG_PRETTY: "false", ...env }, stdin);
  recordOutput(`cli ${source}: plugchat-sync ${args.join(" ")}`, `${exit.stdout}\n${exit.stderr}`);
  return exit;
}

/** The lines of a text, without the empty last one. */
export function linesOf(text: string): string[] {
  return text.split("\n").filter((line, index, all) => line !== "" || index < all.length - 1);
}
