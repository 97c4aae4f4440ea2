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
import { describeSourceLocation } from "../../accounts/source/errors.js";
import { accountSourceFromConfig, readSourceValues } from "../../accounts/source/read-source.js";
import { type ReconcileResult, reconcileTrackedIds } from "../../accounts/source/reconcile.js";
import { withPrisma } from "../../db/prisma.js";
import { ExitCode, UserFacingError } from "../../errors.js";
import { isValidAccountId } from "../../plugchat/account-id.js";
import { SOURCE_OVERRIDE_ADVICE } from "../../sync/account-source-step.js";
import { commandContext, commandDatabaseUrl } from "../context.js";
import { countProgressLine } from "../progress-line.js";

/** Ids from which `accounts import` shows its progress on a terminal (fewer are written at once). */
const IMPORT_PROGRESS_FROM = 10_000;

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
      'track the account ids of a file: one per line, or a CSV with an "accountId" or "id" column; blank lines and # comments are skipped. Nothing is imported if any id is invalid, unless --skip-invalid. With --replace, the tracked set becomes exactly the file\'s ids: the others are untracked (rows and history kept), within ACCOUNT_SOURCE_MAX_REMOVAL unless --force',
    )
    .argument("<file>", 'the file to read, or "-" for standard input')
    .option("--skip-invalid", "import the valid ids and only warn about the invalid ones")
    .option("--replace", "make the tracked set equal to the file: untrack every tracked id it does not hold")
    .option("--force", "with --replace: untrack past the removal limit (ACCOUNT_SOURCE_MAX_REMOVAL)")
    .action(async (file: string, options: { skipInvalid?: boolean; replace?: boolean; force?: boolean }) => {
      if (options.force && !options.replace) {
        throw new UserFacingError("--force goes with --replace: add --replace, or leave --force out");
      }
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
      if (options.replace) {
        await replaceTracked(parsed.ids, {
          label,
          force: options.force === true,
          skipped: `${parsed.invalidCount} invalid skipped, ${parsed.duplicates} duplicates ignored`,
        });
        return;
      }
      if (parsed.ids.length === 0 && parsed.invalidCount === 0) {
        process.stdout.write(`no account ids in ${label}: nothing to import\n`);
        return;
      }
      // A large file takes a while to write: on a terminal, its progress (piped, nothing).
      const progress =
        parsed.ids.length >= IMPORT_PROGRESS_FROM ? countProgressLine("import", process.stderr) : undefined;
      progress?.update(0, new Set(parsed.ids).size);
      const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        trackAccounts(prisma, parsed.ids, {
          onProgress: (written, total) => progress?.update(written, total),
        }),
      ).finally(() => progress?.stop());
      logger.debug(
        { ids: parsed.ids.length, ms: Math.round(performance.now() - startedAt), ...result },
        "imported account ids",
      );
      process.stdout.write(
        `imported ${label}: ${describeTrack(result)}, ${parsed.invalidCount} invalid skipped, ${parsed.duplicates} duplicates ignored\n`,
      );
    });

  const source = accounts
    .command("source")
    .description("the account source (ACCOUNT_SOURCE_URL and ACCOUNT_SOURCE_QUERY) that every run follows");
  source
    .command("check")
    .description(
      "run the source's query and print what a run would change (ids added, re-tracked, untracked, invalid, or a refusal by the removal limit), changing nothing. Exit 0 when a run would apply it, 1 when it would refuse it or the source cannot be read",
    )
    .action(async () => {
      const { config } = commandContext();
      const settings = accountSourceFromConfig(config);
      if (!settings) {
        throw new UserFacingError(
          "no account source is configured: set ACCOUNT_SOURCE_URL (your database) and ACCOUNT_SOURCE_QUERY (a query whose first column is the account id)",
          { exitCode: ExitCode.badConfig },
        );
      }
      const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
        reconcileTrackedIds(
          prisma,
          readSourceValues({
            url: settings.url,
            query: settings.query,
            timeoutMs: settings.timeoutMs,
            pageSize: 5_000,
          }),
          {
            limit: { maxShare: settings.maxRemovalShare, howToOverride: SOURCE_OVERRIDE_ADVICE },
            dryRun: true,
            sampleSize: MAX_LISTED,
          },
        ),
      );
      process.stdout.write(`${describeCheck(describeSourceLocation(settings.url), result)}\n`);
      if (result.outcome === "refused") process.exitCode = ExitCode.failure;
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

/** `accounts import --replace`: the same reconciliation as the account source's, with the file's ids. */
async function replaceTracked(
  ids: readonly string[],
  options: { label: string; force: boolean; skipped: string },
): Promise<void> {
  const { config, logger } = commandContext();
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
    reconcileTrackedIds(prisma, pagesOf(ids, 5_000), {
      limit: {
        maxShare: config.accountSourceMaxRemoval,
        force: options.force,
        howToOverride: "pass --force if the file is right",
      },
    }),
  );
  if (result.outcome === "refused")
    throw new UserFacingError(result.refusal ?? "refused by the removal limit");
  const { counts } = result;
  logger.debug({ ...counts }, "replaced the tracked account ids");
  process.stdout.write(
    `replaced the tracked accounts with ${options.label}: ${counts.added} added, ${counts.retracked} re-tracked, ${counts.removed} untracked, ${counts.sourceIds - counts.added - counts.retracked} already tracked; ${options.skipped}\n`,
  );
  if (accountSourceFromConfig(config)) {
    process.stderr.write(
      "plugchat-sync: warning: ACCOUNT_SOURCE_URL is set: the next run makes the tracked accounts equal to the source's ids again\n",
    );
  }
}

function* pagesOf(ids: readonly string[], size: number): Generator<string[]> {
  for (let start = 0; start < ids.length; start += size) yield ids.slice(start, start + size);
}

function describeCheck(location: string, result: ReconcileResult): string {
  const { counts, samples } = result;
  const lines = [
    `account source: ${location}`,
    `${counts.sourceIds} account ids returned (${result.nulls} NULL, ${result.duplicates} duplicates, ${result.invalid} invalid: skipped)`,
  ];
  for (const entry of result.invalidExamples) lines.push(`  invalid: ${entry.value} (${entry.reason})`);
  if (result.invalid > result.invalidExamples.length)
    lines.push(`  and ${result.invalid - result.invalidExamples.length} more invalid`);
  const changes = `${counts.added} added, ${counts.retracked} re-tracked, ${counts.removed} untracked, of ${counts.tracked} tracked now`;
  if (result.outcome === "refused") {
    lines.push(`a run would change nothing: it would refuse ${changes}`, `  ${result.refusal ?? ""}`);
  } else {
    lines.push(`a run would apply: ${changes}`);
  }
  const sample = (title: string, ids: readonly string[], total: number) => {
    if (total === 0) return;
    const more = total - ids.length;
    lines.push(`  ${title}: ${ids.join(", ")}${more > 0 ? ` and ${more} more` : ""}`);
  };
  sample("added", samples.added, counts.added);
  sample("re-tracked", samples.retracked, counts.retracked);
  sample("untracked", samples.removed, counts.removed);
  lines.push("nothing was changed (check only)");
  return lines.join("\n");
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
