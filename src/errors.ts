/**
 * An error the user can cause and fix (bad configuration, unreachable database, refused token...).
 * The CLI prints its message as one line, without a stack trace, and exits with its exit code.
 * Messages say what is wrong and how to fix it, and never contain a secret.
 */
export class UserFacingError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Exit codes shared by every command. */
export const ExitCode = {
  failure: 1,
  badConfig: 2,
  /** `sync` refused: another run is going (a script may retry later). */
  runInProgress: 3,
} as const;
