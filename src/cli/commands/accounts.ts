import { Command, Option } from "commander";
import { type InvalidIdLine, parseIdFile } from "../../accounts/id-file-parser.js";
import { describeSource, readLines } from "../../accounts/read-lines.js";
import {
  ACCOUNT_STATUSES,
  type AccountListing,
  type AccountStatus,
  listAccounts,
  type TrackResult,
  trackAccounts,
  untrackAccounts,
} from "../../accounts/repository.js";
import { withPrisma } from "../../db/prisma.js";
import { UserFacingError } from "../../errors.js";
import { isValidAccountId } from "../../plugchat/account-id.js";
import { commandContext, commandDatabaseUrl } from "../context.js";

/** How many offending ids or lines a message lists before it only says how many more there are. */
const MAX_LISTED = 20;
const ID_RULE = 'an account id is 1 to 128 ASCII letters, digits, "-" or "_"';

export function accountsCommand(): Command {
  const accounts = new Command("accounts").description(
    "manage the account ids to sync (Plugchat cannot list them, so they are kept in the accounts table)",
  );

  accounts
    .command("add")
    .description("track account ids; an id that was removed is tracked again, with its history")
    .argument("<id...>", "account ids")
    .action(async (ids: string[]) => {
      const invalid = ids.filter((id) => !isValidAccountId(id));
      if (invalid.length > 0) {
        throw new UserFacingError(
          `${count(invalid.length, "invalid account id")}, nothing was added: ${listed(invalid.map(quote))} (${ID_RULE})`,
        );
      }
      const result = await withPrisma(await commandDatabaseUrl(), (prisma) => trackAccounts(prisma, ids));
      process.stdout.write(`${describeTrack(result)}\n`);
    });

  accounts
    .command("import")
    .summary('track the account ids of a file, or of standard input with "-"')
    .description(
      'track the account ids of a file: one per line, or a CSV with an "accountId" or "id" column; blank lines and # comments are skipped. Nothing is imported if any id is invalid, unless --skip-invalid',
    )
    .argument("<file>", 'the file to read, or "-" for standard input')
    .option("--skip-invalid", "import the valid ids and only warn about the invalid ones")
    .action(async (file: string, options: { skipInvalid?: boolean }) => {
      const { logger } = commandContext();
      const startedAt = performance.now();
      const parsed = await parseIdFile(readLines(file), { maxInvalidKept: MAX_LISTED });
      const label = describeSource(file);
      if (parsed.invalidCount > 0 && !options.skipInvalid) {
        throw new UserFacingError(
          [
            `${label} has ${count(parsed.invalidCount, "invalid account id")}, nothing was imported: fix them, or pass --skip-invalid to import the valid ones (${ID_RULE})`,
            ...invalidLines(parsed.invalid, parsed.invalidCount),
          ].join("\n"),
        );
      }
      for (const line of invalidLines(parsed.invalid, parsed.invalidCount)) {
        process.stderr.write(`plugchat-sync: warning: skipped ${line}\n`);
      }
      if (parsed.ids.length === 0 && parsed.invalidCount === 0) {
        process.stdout.write(`no account ids in ${label}: nothing to import\n`);
        return;
      }
      const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        trackAccounts(prisma, parsed.ids),
      );
      logger.debug(
        { ids: parsed.ids.length, ms: Math.round(performance.now() - startedAt), ...result },
        "imported account ids",
      );
      process.stdout.write(
        `imported ${label}: ${describeTrack(result)}, ${parsed.invalidCount} invalid skipped, ${parsed.duplicates} duplicates ignored\n`,
      );
    });

  accounts
    .command("list")
    .description("list the tracked accounts in id order, with how their last sync went")
    .addOption(
      new Option("--status <status>", "only the accounts whose last sync ended so").choices(ACCOUNT_STATUSES),
    )
    .option("--json", "print a JSON array (and nothing else) on stdout")
    .option("--all", "include removed accounts")
    .action(async (options: { status?: AccountStatus; json?: boolean; all?: boolean }) => {
      watchStdout();
      await withPrisma(await commandDatabaseUrl(), async (prisma) => {
        const rows = listAccounts(prisma, { status: options.status, includeRemoved: options.all === true });
        try {
          if (options.json) await writeJson(rows);
          else await writeTable(rows, { showTracked: options.all === true });
        } catch (error) {
          // The reader has what it wanted (`| head`): stopping early is success, as for `cat`.
          if (!(error instanceof StdoutClosed)) throw error;
        }
      });
    });

  accounts
    .command("remove")
    .summary("stop tracking account ids; their rows and drift history are kept")
    .description(
      "stop tracking account ids; their rows and drift history are kept. Exits 0 when every id ends up untracked, ids that were never tracked included (they are reported)",
    )
    .argument("<id...>", "account ids")
    .action(async (ids: string[]) => {
      const invalid = ids.filter((id) => !isValidAccountId(id));
      if (invalid.length > 0) {
        throw new UserFacingError(
          `${count(invalid.length, "invalid account id")}, nothing was removed: ${listed(invalid.map(quote))} (${ID_RULE})`,
        );
      }
      const result = await withPrisma(await commandDatabaseUrl(), (prisma) => untrackAccounts(prisma, ids));
      // Not an error: the wanted state (not tracked) holds, and a removal script can be re-run.
      // Unknown ids are still worth a warning, since they are usually typos.
      if (result.unknown.length > 0) {
        process.stderr.write(
          `plugchat-sync: warning: not tracked: ${listed(result.unknown)} (no such account)\n`,
        );
      }
      process.stdout.write(
        `${result.removed.length} removed, ${result.alreadyRemoved.length} already removed, ${result.unknown.length} unknown\n`,
      );
    });

  return accounts;
}

function describeTrack(result: TrackResult): string {
  return `${result.added} added, ${result.retracked} re-tracked, ${result.alreadyTracked} already tracked`;
}

function invalidLines(kept: readonly InvalidIdLine[], total: number): string[] {
  const shown = kept.slice(0, MAX_LISTED);
  const more = total - shown.length;
  return [...shown.map((entry) => entry.message), ...(more > 0 ? [`and ${more} more`] : [])];
}

function listed(values: readonly string[]): string {
  const shown = values.slice(0, MAX_LISTED).join(", ");
  const more = values.length - MAX_LISTED;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

/** Thrown by `out` once the reader of stdout has gone away. */
class StdoutClosed extends Error {}

let stdoutClosed = false;
let watchingStdout = false;

// `accounts list | head` closes the pipe early; without a listener the next write would crash the
// process with an EPIPE stack trace. The listener stays for the life of the process because the
// error can arrive after the last write.
function watchStdout(): void {
  if (watchingStdout) return;
  watchingStdout = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stdoutClosed = true;
  });
}

/** Writes to stdout, waiting when the reader is slower than the database (e.g. piped into `less`). */
async function out(text: string): Promise<void> {
  if (stdoutClosed) throw new StdoutClosed();
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.stdout.off("drain", done);
      process.stdout.off("error", done);
      resolve();
    };
    process.stdout.once("drain", done);
    process.stdout.once("error", done);
  });
}

async function writeJson(rows: AsyncIterable<AccountListing>): Promise<void> {
  let chunk = "[";
  let first = true;
  for await (const row of rows) {
    chunk += `${first ? "" : ","}\n  ${JSON.stringify(row)}`;
    first = false;
    if (chunk.length > 65_536) {
      await out(chunk);
      chunk = "";
    }
  }
  await out(`${chunk}${first ? "" : "\n"}]\n`);
}

const COLUMNS = ["ID", "TRACKED", "STATUS", "ACTIVE", "LAST SYNCED", "FAILURES", "NAME"] as const;
const WIDTH_SAMPLE = 1_000;

/**
 * Column widths come from the first rows only, since the rest is not read yet; a longer value further
 * down only pushes its own line out of alignment. The name, whose length is unbounded, is last.
 */
async function writeTable(
  rows: AsyncIterable<AccountListing>,
  options: { showTracked: boolean },
): Promise<void> {
  const header = COLUMNS.filter((column) => column !== "TRACKED" || options.showTracked);
  const sample: string[][] = [];
  let widths: number[] | undefined;
  let chunk = "";
  let total = 0;
  const startTable = (): void => {
    widths = header.map((column, index) =>
      Math.max(column.length, ...sample.map((cells) => cells[index]?.length ?? 0)),
    );
    chunk = [header, ...sample].map((cells) => formatRow(cells, widths ?? [])).join("");
  };
  for await (const row of rows) {
    total += 1;
    const cells = tableCells(row, options.showTracked);
    if (widths) {
      chunk += formatRow(cells, widths);
    } else {
      sample.push(cells);
      if (sample.length === WIDTH_SAMPLE) startTable();
    }
    if (chunk.length > 65_536) {
      await out(chunk);
      chunk = "";
    }
  }
  if (!widths && total > 0) startTable();
  const footer =
    total === 0 ? `no ${options.showTracked ? "" : "tracked "}accounts` : count(total, "account");
  await out(`${chunk}${footer}\n`);
}

function tableCells(row: AccountListing, showTracked: boolean): string[] {
  return [
    row.id,
    ...(showTracked ? [row.tracked ? "yes" : "removed"] : []),
    row.status,
    row.active === null ? "-" : row.active ? "yes" : "no",
    row.lastSyncedAt ? `${row.lastSyncedAt.toISOString().slice(0, 19).replace("T", " ")}Z` : "never",
    String(row.consecutiveFailures),
    row.name ?? "",
  ];
}

function formatRow(cells: readonly string[], widths: readonly number[]): string {
  const last = cells.length - 1;
  return `${cells
    .map((cell, index) => (index === last ? cell : cell.padEnd(widths[index] ?? 0)))
    .join("  ")
    .trimEnd()}\n`;
}
