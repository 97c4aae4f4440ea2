// `accounts import`: the ids of a file tracked, or (--replace) made the exact tracked set; a CSV's
// columns named after synced fields set what each of its accounts is expected to be.
import { type ParsedIdFile, parseIdFile } from "../../../accounts/id-file-parser.js";
import { describeSource, readLines } from "../../../accounts/read-lines.js";
import { type TrackResult, trackAccounts } from "../../../accounts/repository.js";
import { accountSourceFromConfig, type SourcePage } from "../../../accounts/source/read-source.js";
import { mergeExpectations, reconcileTrackedIds } from "../../../accounts/source/reconcile.js";
import { withPrisma } from "../../../db/prisma.js";
import type { ExpectedAccountCounts } from "../../../db/sql/expectations.js";
import type { Db } from "../../../db/sql/index.js";
import { UserFacingError } from "../../../errors.js";
import { commandContext, commandDatabaseUrl } from "../../context.js";
import { printLine, printNotice } from "../../print.js";
import { countProgressLine } from "../../progress-line.js";
import {
  count,
  describeExpected,
  describeTrack,
  ID_RULE,
  invalidLines,
  MAX_LISTED,
  VALUE_RULE,
} from "./messages.js";

/** Ids from which `accounts import` shows its progress on a terminal (fewer are written at once). */
const IMPORT_PROGRESS_FROM = 10_000;
/** Rows per page loaded into the temporary tables. */
const PAGE_SIZE = 5_000;

export interface ImportOptions {
  skipInvalid?: boolean;
  replace?: boolean;
  force?: boolean;
}

export async function importIds(file: string, options: ImportOptions): Promise<void> {
  if (options.force && !options.replace) {
    throw new UserFacingError("--force goes with --replace: add --replace, or leave --force out");
  }
  const { logger } = commandContext();
  const startedAt = performance.now();
  const parsed = await parseIdFile(readLines(file), { maxInvalidKept: MAX_LISTED });
  const label = describeSource(file);
  const rejected = parsed.invalidCount + parsed.invalidValueCount;
  const invalid = invalidLines(parsed.invalid, rejected);
  if (rejected > 0 && !options.skipInvalid) {
    throw new UserFacingError([refusal(label, parsed), ...invalid].join("\n"));
  }
  for (const line of invalid) printNotice(`warning: skipped ${line}`);
  const skipped = `${parsed.invalidCount} invalid skipped, ${parsed.duplicates} duplicates ignored`;
  if (options.replace) {
    await replaceTracked(parsed, { label, force: options.force === true, skipped });
  } else if (parsed.ids.length === 0 && parsed.invalidCount === 0) {
    printLine(`no account ids in ${label}: nothing to import`);
  } else {
    const { tracked, expected } = await trackWithProgress(parsed, label);
    logger.debug(
      { ids: parsed.ids.length, ms: Math.round(performance.now() - startedAt), ...tracked, expected },
      "imported account ids",
    );
    const expectedText = describeExpected(parsed.expectedFields, expected, parsed.invalidValueCount);
    printLine(`imported ${label}: ${describeTrack(tracked)}, ${skipped}${expectedText}`);
    warnAboutSource(parsed, false);
  }
}

/** With an account source, the next run undoes what the import did: each run follows the source. */
function warnAboutSource(parsed: ParsedIdFile, replaced: boolean): void {
  if (!accountSourceFromConfig(commandContext().config)) return;
  const warn = (text: string) => printNotice(`warning: ACCOUNT_SOURCE_URL is set: ${text}`);
  if (replaced) warn("the next run makes the tracked accounts equal to the source's ids again");
  if (parsed.expectedFields.length > 0)
    warn("the next run replaces the expected values with those of ACCOUNT_SOURCE_QUERY");
}

/** Why nothing was imported, in one line: how many ids and expected values are invalid. */
function refusal(label: string, parsed: ParsedIdFile): string {
  const problems: string[] = [];
  const rules: string[] = [];
  if (parsed.invalidCount > 0) {
    problems.push(count(parsed.invalidCount, "invalid account id"));
    rules.push(ID_RULE);
  }
  if (parsed.invalidValueCount > 0) {
    problems.push(count(parsed.invalidValueCount, "invalid expected value"));
    rules.push(VALUE_RULE);
  }
  return `${label} has ${problems.join(" and ")}, nothing was imported: fix them, or pass --skip-invalid to import the valid ones (${rules.join("; ")})`;
}

/**
 * Tracks the ids and, in the same transaction, adds or updates the file's expected values; a large
 * file takes a while to write, so its progress is drawn on a terminal.
 */
async function trackWithProgress(
  parsed: ParsedIdFile,
  label: string,
): Promise<{ tracked: TrackResult; expected: ExpectedAccountCounts | undefined }> {
  const { ids } = parsed;
  const progress =
    ids.length >= IMPORT_PROGRESS_FROM ? countProgressLine("import", process.stderr) : undefined;
  progress?.update(0, ids.length);
  let expected: ExpectedAccountCounts | undefined;
  const afterTracking =
    parsed.expectedFields.length === 0
      ? undefined
      : async (tx: Db) => {
          expected = (await mergeExpectations(tx, pagesOf(parsed, PAGE_SIZE), label)).accounts;
        };
  const tracked = await withPrisma(await commandDatabaseUrl(), (prisma) =>
    trackAccounts(prisma, ids, {
      onProgress: (written, total) => progress?.update(written, total),
      afterTracking,
    }),
  ).finally(() => progress?.stop());
  return { tracked, expected };
}

/** `accounts import --replace`: the same reconciliation as the account source's, with the file's rows. */
async function replaceTracked(
  parsed: ParsedIdFile,
  options: { label: string; force: boolean; skipped: string },
): Promise<void> {
  const { config, logger } = commandContext();
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
    reconcileTrackedIds(prisma, pagesOf(parsed, PAGE_SIZE), {
      rowsFrom: options.label,
      countExpectedAccounts: true,
      limit: {
        maxShare: config.accountSourceMaxRemoval,
        force: options.force,
        howToOverride: "pass --force if the file is right",
      },
    }),
  );
  if (result.outcome === "refused")
    throw new UserFacingError(result.refusal ?? "refused by the removal limit");
  const { counts, expectations } = result;
  logger.debug({ ...counts, expected: expectations.accounts }, "replaced the tracked account ids");
  const expectedText = describeExpected(
    parsed.expectedFields,
    expectations.accounts,
    parsed.invalidValueCount,
  );
  printLine(
    `replaced the tracked accounts with ${options.label}: ${counts.added} added, ${counts.retracked} re-tracked, ${counts.removed} untracked, ${counts.sourceIds - counts.added - counts.retracked} already tracked; ${options.skipped}${expectedText}`,
  );
  warnAboutSource(parsed, true);
}

/** The file's ids as the account source's rows: the id, then the cells of its expected fields. */
function* pagesOf(parsed: ParsedIdFile, size: number): Generator<SourcePage> {
  const { ids, expectedFields, expectedCells } = parsed;
  const columns = ["id", ...expectedFields];
  const width = expectedFields.length;
  yield { columns, rows: [] };
  for (let start = 0; start < ids.length; start += size) {
    const rows = ids.slice(start, start + size).map((id, offset) => {
      const at = (start + offset) * width;
      return [id, ...expectedCells.slice(at, at + width)];
    });
    yield { columns, rows };
  }
}
