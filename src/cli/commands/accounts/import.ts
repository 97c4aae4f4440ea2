// `accounts import`: the ids of a file tracked, or (--replace) made the exact tracked set.
import { parseIdFile } from "../../../accounts/id-file-parser.js";
import { describeSource, readLines } from "../../../accounts/read-lines.js";
import { type TrackResult, trackAccounts } from "../../../accounts/repository.js";
import { accountSourceFromConfig, type SourcePage } from "../../../accounts/source/read-source.js";
import { reconcileTrackedIds } from "../../../accounts/source/reconcile.js";
import { withPrisma } from "../../../db/prisma.js";
import { UserFacingError } from "../../../errors.js";
import { commandContext, commandDatabaseUrl } from "../../context.js";
import { printLine, printNotice } from "../../print.js";
import { countProgressLine } from "../../progress-line.js";
import { count, describeTrack, ID_RULE, invalidLines, MAX_LISTED } from "./messages.js";

/** Ids from which `accounts import` shows its progress on a terminal (fewer are written at once). */
const IMPORT_PROGRESS_FROM = 10_000;

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
  const invalid = invalidLines(parsed.invalid, parsed.invalidCount);
  if (parsed.invalidCount > 0 && !options.skipInvalid) {
    throw new UserFacingError(
      [
        `${label} has ${count(parsed.invalidCount, "invalid account id")}, nothing was imported: fix them, or pass --skip-invalid to import the valid ones (${ID_RULE})`,
        ...invalid,
      ].join("\n"),
    );
  }
  for (const line of invalid) printNotice(`warning: skipped ${line}`);
  const skipped = `${parsed.invalidCount} invalid skipped, ${parsed.duplicates} duplicates ignored`;
  if (options.replace) {
    await replaceTracked(parsed.ids, { label, force: options.force === true, skipped });
  } else if (parsed.ids.length === 0 && parsed.invalidCount === 0) {
    printLine(`no account ids in ${label}: nothing to import`);
  } else {
    const result = await trackWithProgress(parsed.ids);
    logger.debug(
      { ids: parsed.ids.length, ms: Math.round(performance.now() - startedAt), ...result },
      "imported account ids",
    );
    printLine(`imported ${label}: ${describeTrack(result)}, ${skipped}`);
  }
}

/** Tracks the ids; a large file takes a while to write, so its progress is drawn on a terminal. */
async function trackWithProgress(ids: readonly string[]): Promise<TrackResult> {
  const progress =
    ids.length >= IMPORT_PROGRESS_FROM ? countProgressLine("import", process.stderr) : undefined;
  progress?.update(0, new Set(ids).size);
  return withPrisma(await commandDatabaseUrl(), (prisma) =>
    trackAccounts(prisma, ids, { onProgress: (written, total) => progress?.update(written, total) }),
  ).finally(() => progress?.stop());
}

/** `accounts import --replace`: the same reconciliation as the account source's, with the file's ids. */
async function replaceTracked(
  ids: readonly string[],
  options: { label: string; force: boolean; skipped: string },
): Promise<void> {
  const { config, logger } = commandContext();
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
    reconcileTrackedIds(prisma, pagesOf(ids, 5_000), {
      rowsFrom: options.label,
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
  printLine(
    `replaced the tracked accounts with ${options.label}: ${counts.added} added, ${counts.retracked} re-tracked, ${counts.removed} untracked, ${counts.sourceIds - counts.added - counts.retracked} already tracked; ${options.skipped}`,
  );
  if (accountSourceFromConfig(config)) {
    printNotice(
      "warning: ACCOUNT_SOURCE_URL is set: the next run makes the tracked accounts equal to the source's ids again",
    );
  }
}

function* pagesOf(ids: readonly string[], size: number): Generator<SourcePage> {
  const columns = ["id"];
  yield { columns, rows: [] };
  for (let start = 0; start < ids.length; start += size)
    yield { columns, rows: ids.slice(start, start + size).map((id) => [id]) };
}
