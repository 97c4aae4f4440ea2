// `accounts list`: the tracked accounts streamed from the database to stdout, as a table or JSON.
import { type AccountListing, type AccountStatus, listAccounts } from "../../../accounts/repository.js";
import { withPlainConnection } from "../../../db/plain-connection.js";
import { terminalJson } from "../../../lib/terminal-text.js";
import { commandDatabaseUrl } from "../../context.js";
import { formatTime, TableWriter } from "../../format.js";
import { BufferedStdout, StdoutClosed, watchStdout } from "../../stdout.js";
import { count } from "./messages.js";

export interface ListOptions {
  status?: AccountStatus;
  json?: boolean;
  all?: boolean;
}

export async function listTrackedAccounts(options: ListOptions): Promise<void> {
  watchStdout();
  // One plain connection, no Prisma client: a listing answers at once (docs/benchmarks.md, startup).
  await withPlainConnection(await commandDatabaseUrl(), async (db) => {
    const rows = listAccounts(db, { status: options.status, includeRemoved: options.all === true });
    try {
      if (options.json) await writeJson(rows);
      else await writeTable(rows, { showTracked: options.all === true });
    } catch (error) {
      // The reader has what it wanted (`| head`): stopping early is success, as for `cat`.
      if (!(error instanceof StdoutClosed)) throw error;
    }
  });
}

async function writeJson(rows: AsyncIterable<AccountListing>): Promise<void> {
  const out = new BufferedStdout();
  let first = true;
  await out.write("[");
  for await (const row of rows) {
    // The exact values, control characters escaped as \uXXXX (still the same JSON value).
    await out.write(`${first ? "" : ","}\n  ${terminalJson(row)}`);
    first = false;
  }
  await out.end(`${first ? "" : "\n"}]\n`);
}

const COLUMNS = ["ID", "TRACKED", "STATUS", "ACTIVE", "LAST SYNCED", "FAILURES", "NAME"] as const;
/** The rows the column widths are taken from; the name, whose length is unbounded, is the last column. */
const WIDTH_SAMPLE = 1_000;

async function writeTable(
  rows: AsyncIterable<AccountListing>,
  options: { showTracked: boolean },
): Promise<void> {
  const out = new BufferedStdout();
  const table = new TableWriter(
    COLUMNS.filter((column) => column !== "TRACKED" || options.showTracked),
    { widthSample: WIDTH_SAMPLE },
  );
  let total = 0;
  for await (const row of rows) {
    total += 1;
    await out.write(table.add(tableCells(row, options.showTracked)));
  }
  // No rows, no header: only the footer.
  const rest = total === 0 ? "" : table.end();
  const footer =
    total === 0 ? `no ${options.showTracked ? "" : "tracked "}accounts` : count(total, "account");
  await out.end(`${rest}${footer}\n`);
}

function tableCells(row: AccountListing, showTracked: boolean): string[] {
  return [
    row.id,
    ...(showTracked ? [row.tracked ? "yes" : "removed"] : []),
    row.status,
    row.active === null ? "-" : row.active ? "yes" : "no",
    row.lastSyncedAt ? formatTime(row.lastSyncedAt) : "never",
    String(row.consecutiveFailures),
    row.name ?? "",
  ];
}
