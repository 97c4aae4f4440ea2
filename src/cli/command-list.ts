// The commands as `plugchat-sync --help` lists them, and where each one's code is. Only the command
// being run is loaded (src/cli/program.ts): `--help` loads none, and `report` does not pay for BullMQ,
// the simulator or the worker.
import type { Command } from "commander";

interface CommandEntry {
  /** As the command list shows it: the name, and "[options]" when the command has some. */
  term: string;
  description: string;
  load(): Promise<Command>;
}

export const COMMANDS = {
  migrate: {
    term: "migrate",
    description:
      "create the database if it does not exist and apply pending migrations (offline; same result as `prisma migrate deploy`), and the queue schema when the queues live in PostgreSQL",
    load: async () => (await import("./commands/migrate.js")).migrateCommand(),
  },
  accounts: {
    term: "accounts",
    description:
      "manage the account ids to sync (Plugchat cannot list them, so they are kept in the accounts table)",
    load: async () => (await import("./commands/accounts.js")).accountsCommand(),
  },
  sync: {
    term: "sync [options]",
    description: "run one sync now in this process (no Redis needed) and print its summary",
    load: async () => (await import("./commands/sync.js")).syncCommand(),
  },
  worker: {
    term: "worker",
    description:
      "run the scheduled worker until SIGTERM or SIGINT: registers SYNC_CRON and runs scheduled and manual runs as batch jobs shared with the other workers",
    load: async () => (await import("./commands/worker.js")).workerCommand(),
  },
  trigger: {
    term: "trigger [options]",
    description: "queue a manual sync run now, for the workers (`plugchat-sync worker`) to run",
    load: async () => (await import("./commands/trigger.js")).triggerCommand(),
  },
  report: {
    term: "report [options]",
    description: "show recent sync runs and what drifted",
    load: async () => (await import("./commands/report.js")).reportCommand(),
  },
  runs: {
    term: "runs",
    description: "sync runs by hand: close one whose process is gone",
    load: async () => (await import("./commands/runs.js")).runsCommand(),
  },
  mismatches: {
    term: "mismatches [options]",
    description: "list the accounts whose Plugchat values disagree with your records (exit 0: none, 1: some)",
    load: async () => (await import("./commands/mismatches.js")).mismatchesCommand(),
  },
  db: {
    term: "db",
    description:
      "the embedded PostgreSQL that the commands use when DATABASE_URL is unset: its URL, keep it up, stop it, its status",
    load: async () => (await import("./commands/db.js")).dbCommand(),
  },
  prune: {
    term: "prune [options]",
    description:
      "remove the rows the retention settings (RETENTION_*_DAYS) let go, as the worker does every PRUNE_EVERY_MS",
    load: async () => (await import("./commands/prune.js")).pruneCommand(),
  },
  simulator: {
    term: "simulator [options]",
    description: "Serve a Plugchat simulator with generated accounts until SIGINT or SIGTERM",
    load: async () => (await import("../simulator/command.js")).simulatorCommand(),
  },
  demo: {
    term: "demo",
    description:
      "show a real sync end to end against the built-in Plugchat simulator, in its own database plugchat_sync_demo (on the embedded PostgreSQL when DATABASE_URL is unset)",
    load: async () => (await import("./commands/demo.js")).demoCommand(),
  },
} as const satisfies Record<string, CommandEntry>;

export type CommandName = keyof typeof COMMANDS;

/** The description a command shows, the same in the list and in its own help. */
export function descriptionOf(name: CommandName): string {
  return COMMANDS[name].description;
}
