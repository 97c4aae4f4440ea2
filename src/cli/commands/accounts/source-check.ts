// `accounts source check`: what a run would change by following the account source, changing nothing.
import { AccountSourceError, describeSourceLocation } from "../../../accounts/source/errors.js";
import {
  type AccountSourceSettings,
  accountSourceFromConfig,
  readSourceRows,
} from "../../../accounts/source/read-source.js";
import { type ReconcileResult, reconcileTrackedIds } from "../../../accounts/source/reconcile.js";
import { sourceWriteAccess } from "../../../accounts/source/write-access.js";
import { withPrisma } from "../../../db/prisma.js";
import { ExitCode, UserFacingError } from "../../../errors.js";
import { SOURCE_OVERRIDE_ADVICE } from "../../../sync/account-source-step.js";
import { commandContext, commandDatabaseUrl } from "../../context.js";
import { printLine } from "../../print.js";
import { MAX_LISTED } from "./messages.js";

export async function checkSource(): Promise<void> {
  const { config } = commandContext();
  const settings = accountSourceFromConfig(config);
  if (!settings) {
    throw new UserFacingError(
      "no account source is configured: set ACCOUNT_SOURCE_URL (your database) and ACCOUNT_SOURCE_QUERY (a query whose first column is the account id)",
      { exitCode: ExitCode.badConfig },
    );
  }
  let result: ReconcileResult;
  try {
    const rows = readSourceRows({
      url: settings.url,
      query: settings.query,
      timeoutMs: settings.timeoutMs,
      pageSize: 5_000,
    });
    result = await withPrisma(await commandDatabaseUrl(), (prisma) =>
      reconcileTrackedIds(prisma, rows, {
        rowsFrom: "ACCOUNT_SOURCE_QUERY",
        limit: { maxShare: settings.maxRemovalShare, howToOverride: SOURCE_OVERRIDE_ADVICE },
        dryRun: true,
        sampleSize: MAX_LISTED,
      }),
    );
  } catch (error) {
    // A refused query is when a user that may write matters most; an unreachable source cannot tell.
    if (!(error instanceof AccountSourceError && error.kind === "unreachable"))
      await warnIfWritable(settings);
    throw error;
  }
  await warnIfWritable(settings);
  printLine(describeCheck(describeSourceLocation(settings.url), result));
  if (result.outcome === "refused") process.exitCode = ExitCode.failure;
}

/** One warning line when the source's user may write: only a read-only user guarantees it never does. */
async function warnIfWritable(settings: AccountSourceSettings): Promise<void> {
  const access = await sourceWriteAccess(settings.url, settings.timeoutMs);
  if (access === undefined) return;
  process.stderr.write(
    `plugchat-sync: warning: the account source's user can write (${access}): its query is checked and run read-only, but only a user that may only read guarantees nothing is written; see "A read-only user" in docs/account-source.md\n`,
  );
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
  lines.push(...describeExpectations(result.expectations));
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

function describeExpectations(expectations: ReconcileResult["expectations"]): string[] {
  if (expectations.fields.length === 0)
    return ["no expected values (only the id column): nothing is compared with your records"];
  const lines = [
    `expected values: ${expectations.fields.join(", ")} (and that each account exists); ${expectations.invalid} invalid skipped`,
  ];
  for (const example of expectations.invalidExamples) lines.push(`  invalid: ${example}`);
  const more = expectations.invalid - expectations.invalidExamples.length;
  if (more > 0) lines.push(`  and ${more} more invalid`);
  return lines;
}
