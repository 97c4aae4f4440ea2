// `mismatches`: the accounts whose last synced values disagree with the integrator's records, for
// people (a table) and scripts (JSON, and an exit code: 0 none, 1 some, 2 bad configuration).
import { Command, InvalidArgumentError } from "commander";
import { FIELD_NAMES, mismatchFieldNamed } from "../../accounts/source/expectations.js";
import { withPlainConnection } from "../../db/plain-connection.js";
import { countUnverifiedAccounts, listMismatches, type Mismatch } from "../../db/sql/mismatch-list.js";
import { quoted } from "../../lib/text.js";
import { accountIdArgument } from "../arguments.js";
import { descriptionOf } from "../command-list.js";
import { commandDatabaseUrl } from "../context.js";
import { formatTable, formatTime } from "../format.js";
import { printJson, printLine } from "../print.js";

interface MismatchesOptions {
  field?: string;
  account?: string;
  json?: boolean;
}

/** Exit code when there are mismatches: a cron job or a CI step can alert on it. */
const SOME_MISMATCHES = 1;

export function mismatchesCommand(): Command {
  return new Command("mismatches")
    .description(descriptionOf("mismatches"))
    .option("--field <name>", "only this field (externalId, active, onReceiveMessage, exists...)", field)
    .option("--account <id>", "only this account", accountIdArgument)
    .option("--json", "print JSON instead of a table")
    .action(async (options: MismatchesOptions) => {
      // One plain connection, not Prisma: a query command answers at once (as `report` does).
      const { mismatches, unverified } = await withPlainConnection(
        await commandDatabaseUrl(),
        async (db) => ({
          mismatches: await listMismatches(db, { field: options.field, accountId: options.account }),
          unverified: await countUnverifiedAccounts(db),
        }),
      );
      if (options.json) printJson({ total: mismatches.length, unverified, mismatches }, 2);
      else printLine(formatMismatches(mismatches, unverified));
      if (mismatches.length > 0) process.exitCode = SOME_MISMATCHES;
    });
}

function formatMismatches(mismatches: readonly Mismatch[], unverified: number): string {
  const unverifiedNote =
    unverified > 0
      ? `; ${unverified} account${unverified === 1 ? "" : "s"} with expected values not verified (never synced, or failing)`
      : "";
  if (mismatches.length === 0) return `no mismatches with your records${unverifiedNote}`;
  const table = formatTable(
    ["account", "field", "expected", "actual", "since", "run", "name"],
    mismatches.map((row) => [
      row.accountId,
      row.field,
      shown(row.expected),
      shown(row.actual),
      formatTime(row.since),
      `#${row.runId}`,
      row.name ?? "",
    ]),
  );
  return `${table}\n${mismatches.length} mismatch${mismatches.length === 1 ? "" : "es"}${unverifiedNote}`;
}

/** A value as JSON (so that null, "" and spaces are told apart), cut for a table cell. */
function shown(value: string | null): string {
  return value === null ? "null" : quoted(value, 60);
}

function field(value: string): string {
  const named = mismatchFieldNamed(value);
  if (!named) throw new InvalidArgumentError(`not a synced field: one of ${FIELD_NAMES}`);
  return named;
}
