// `plugchat-sync accounts`: the account ids to sync. Each subcommand's work is in ./accounts/.
import { Command, Option } from "commander";
import { ACCOUNT_STATUSES, trackAccounts, untrackAccounts } from "../../accounts/repository.js";
import { withPrisma } from "../../db/prisma.js";
import { descriptionOf } from "../command-list.js";
import { commandDatabaseUrl } from "../context.js";
import { printLine, printNotice } from "../print.js";
import { type ImportOptions, importIds } from "./accounts/import.js";
import { type ListOptions, listTrackedAccounts } from "./accounts/list.js";
import { checkIds, describeTrack, listed } from "./accounts/messages.js";
import { checkSource } from "./accounts/source-check.js";

export function accountsCommand(): Command {
  const accounts = new Command("accounts").description(descriptionOf("accounts"));
  accounts.addCommand(addCommand());
  accounts.addCommand(importCommand());
  accounts.addCommand(sourceCommand());
  accounts.addCommand(listCommand());
  accounts.addCommand(removeCommand());
  return accounts;
}

function addCommand(): Command {
  return new Command("add")
    .description("track account ids; an id that was removed is tracked again, with its history")
    .argument("<id...>", "account ids")
    .action(addIds);
}

async function addIds(ids: string[]): Promise<void> {
  checkIds(ids, "nothing was added");
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) => trackAccounts(prisma, ids));
  printLine(describeTrack(result));
}

function importCommand(): Command {
  return new Command("import")
    .summary('track the account ids of a file, or of standard input with "-"')
    .description(
      'track the account ids of a file: one per line, or a CSV with an "accountId" or "id" column; blank lines and # comments are skipped. A CSV\'s columns named after synced fields (externalId or external_id, name, active, onReceiveMessage...) set the values each account is expected to have (an empty cell expects none, "" the empty string); other columns are ignored. Nothing is imported if any id or expected value is invalid, unless --skip-invalid. With --replace, the tracked set becomes exactly the file\'s ids, and the expected values exactly the file\'s: the others are untracked (rows and history kept), within ACCOUNT_SOURCE_MAX_REMOVAL unless --force',
    )
    .argument("<file>", 'the file to read, or "-" for standard input')
    .option(
      "--skip-invalid",
      "import the valid ids and expected values, and only warn about the invalid ones",
    )
    .option("--replace", "make the tracked set equal to the file: untrack every tracked id it does not hold")
    .option("--force", "with --replace: untrack past the removal limit (ACCOUNT_SOURCE_MAX_REMOVAL)")
    .action((file: string, options: ImportOptions) => importIds(file, options));
}

function sourceCommand(): Command {
  const source = new Command("source").description(
    "the account source (ACCOUNT_SOURCE_URL and ACCOUNT_SOURCE_QUERY) that every run follows",
  );
  source
    .command("check")
    .description(
      "run the source's query and print what a run would change (ids added, re-tracked, untracked, invalid, or a refusal by the removal limit), changing nothing. Exit 0 when a run would apply it, 1 when it would refuse it or the source cannot be read",
    )
    .action(checkSource);
  return source;
}

function listCommand(): Command {
  return new Command("list")
    .description("list the tracked accounts in id order, with how their last sync went")
    .addOption(
      new Option("--status <status>", "only the accounts whose last sync ended so").choices(ACCOUNT_STATUSES),
    )
    .option("--json", "print a JSON array (and nothing else) on stdout")
    .option("--all", "include removed accounts")
    .action((options: ListOptions) => listTrackedAccounts(options));
}

function removeCommand(): Command {
  return new Command("remove")
    .summary("stop tracking account ids; their rows and drift history are kept")
    .description(
      "stop tracking account ids; their rows and drift history are kept. Exits 0 when every id ends up untracked, ids that were never tracked included (they are reported)",
    )
    .argument("<id...>", "account ids")
    .action(removeIds);
}

async function removeIds(ids: string[]): Promise<void> {
  checkIds(ids, "nothing was removed");
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) => untrackAccounts(prisma, ids));
  // Not an error: the wanted state (not tracked) holds, and a removal script can be re-run.
  // Unknown ids are still worth a warning, since they are usually typos.
  if (result.unknown.length > 0) {
    printNotice(`warning: not tracked: ${listed(result.unknown)} (no such account)`);
  }
  printLine(
    `${result.removed.length} removed, ${result.alreadyRemoved.length} already removed, ${result.unknown.length} unknown`,
  );
}
