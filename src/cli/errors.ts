import { CommanderError } from "commander";
import { type DatabaseTarget, describeDatabaseError } from "../db/connection-errors.js";
import { ExitCode, UserFacingError } from "../errors.js";

interface ErrorReport {
  lines: string[];
  exitCode: number;
}

/**
 * Turns whatever a command threw into what the user sees: one line per problem for errors the user
 * can fix, the stack trace only for bugs (an error nobody anticipated is worth reporting in full).
 */
export function reportError(error: unknown, database: DatabaseTarget | undefined): ErrorReport {
  // Commander printed its line already. A wrong option or argument is bad input, exit 2, as for bad
  // configuration: 1 stays for "it ran and found trouble" (a failed run, `mismatches` found some).
  if (error instanceof CommanderError)
    return { lines: [], exitCode: error.exitCode === 0 ? 0 : ExitCode.badConfig };
  const known =
    error instanceof UserFacingError
      ? error
      : database === undefined
        ? undefined
        : describeDatabaseError(error, database);
  if (known) return { lines: known.message.split("\n"), exitCode: known.exitCode };
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { lines: [`unexpected error (please report it): ${detail}`], exitCode: ExitCode.failure };
}
