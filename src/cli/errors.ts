import { CommanderError } from "commander";
import { describeDatabaseError } from "../db/connection-errors.js";
import { ExitCode, UserFacingError } from "../errors.js";

interface ErrorReport {
  lines: string[];
  exitCode: number;
}

/**
 * Turns whatever a command threw into what the user sees: one line per problem for errors the user
 * can fix, the stack trace only for bugs (an error nobody anticipated is worth reporting in full).
 */
export function reportError(error: unknown, databaseUrl: string | undefined): ErrorReport {
  if (error instanceof CommanderError) return { lines: [], exitCode: error.exitCode };
  const known =
    error instanceof UserFacingError
      ? error
      : databaseUrl === undefined
        ? undefined
        : describeDatabaseError(error, databaseUrl);
  if (known) return { lines: known.message.split("\n"), exitCode: known.exitCode };
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { lines: [`unexpected error (please report it): ${detail}`], exitCode: ExitCode.failure };
}
