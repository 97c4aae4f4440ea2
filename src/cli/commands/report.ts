import { Command, InvalidArgumentError, Option } from "commander";
import { withPlainConnection } from "../../db/plain-connection.js";
import { accountIsKnown } from "../../db/sql/accounts.js";
import { driftSince } from "../../db/sql/drift.js";
import { recentRuns } from "../../db/sql/runs.js";
import { UserFacingError } from "../../errors.js";
import { quoted } from "../../lib/text.js";
import { DRIFT_LIMIT, formatDrift, formatRuns } from "../../report/format.js";
import { parseSince } from "../../report/since.js";
import { accountIdArgument } from "../arguments.js";
import { descriptionOf } from "../command-list.js";
import { commandDatabaseUrl } from "../context.js";
import { printJson, printLine } from "../print.js";

const DEFAULT_SINCE = "7d";

interface ReportOptions {
  runs: number;
  drift?: boolean;
  since: Date;
  account?: string;
  json?: boolean;
}

export function reportCommand(): Command {
  return new Command("report")
    .description(descriptionOf("report"))
    .option("--runs <n>", "how many recent runs to show", positiveInteger, 10)
    .option("--drift", "also list drift events (field changes)")
    .addOption(
      new Option("--since <window>", "drift window: 90m, 12h, 7d, 2w or an ISO date")
        .argParser(since)
        // Shown as a user writes it, not as the instant it stands for.
        .default(parseSince(DEFAULT_SINCE), DEFAULT_SINCE),
    )
    .option("--account <id>", "only the drift of this account (implies --drift)", accountIdArgument)
    .option("--json", "print JSON instead of tables")
    .action(async (options: ReportOptions) => {
      const showDrift = options.drift === true || options.account !== undefined;
      // One plain connection, not Prisma: a report answers at once (bench: startup).
      const { runs, drift } = await withPlainConnection(await commandDatabaseUrl(), async (db) => {
        const drift = showDrift
          ? await driftSince(db, { since: options.since, accountId: options.account, limit: DRIFT_LIMIT })
          : undefined;
        // "nothing changed" is true of an account that exists only; a typo must not read as calm.
        if (
          options.account !== undefined &&
          drift?.length === 0 &&
          !(await accountIsKnown(db, options.account))
        ) {
          throw new UserFacingError(
            `no account ${quoted(options.account)} here: it was never tracked (plugchat-sync accounts list --all lists every account)`,
          );
        }
        return { runs: await recentRuns(db, options.runs), drift };
      });
      if (options.json) {
        printJson(drift ? { runs, drift } : { runs }, 2);
        return;
      }
      const sections = [formatRuns(runs)];
      if (drift) sections.push(formatDrift(drift, options.since));
      printLine(sections.join("\n\n"));
    });
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 10_000) {
    throw new InvalidArgumentError("expected a whole number from 1 to 10000");
  }
  return parsed;
}

function since(value: string): Date {
  const parsed = parseSince(value);
  if (!parsed) throw new InvalidArgumentError("expected a window such as 90m, 12h, 7d, 2w, or an ISO date");
  return parsed;
}
