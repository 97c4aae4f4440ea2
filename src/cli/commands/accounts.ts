// `plugchat-sync accounts`: the account ids to sync. Each subcommand's work is in ./accounts/, loaded
// when it runs: `accounts list` reads through a plain connection and must not load Prisma for `add`.
import { Command, Option } from "commander";
import { ACCOUNT_STATUSES } from "../../accounts/repository.js";
import { descriptionOf } from "../command-list.js";
import type { ImportOptions } from "./accounts/import.js";
import type { ListOptions } from "./accounts/list.js";

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
    .action(async (ids: string[]) => (await import("./accounts/track.js")).addIds(ids));
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
    .action(async (file: string, options: ImportOptions) =>
      (await import("./accounts/import.js")).importIds(file, options),
    );
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
    .action(async () => (await import("./accounts/source-check.js")).checkSource());
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
    .action(async (options: ListOptions) =>
      (await import("./accounts/list.js")).listTrackedAccounts(options),
    );
}

function removeCommand(): Command {
  return new Command("remove")
    .summary("stop tracking account ids; their rows and drift history are kept")
    .description(
      "stop tracking account ids; their rows and drift history are kept. Exits 0 when every id ends up untracked, ids that were never tracked included (they are reported)",
    )
    .argument("<id...>", "account ids")
    .action(async (ids: string[]) => (await import("./accounts/track.js")).removeIds(ids));
}
