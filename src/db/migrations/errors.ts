import { UserFacingError } from "../../errors.js";

const RESOLVE_HINT = "npx prisma migrate resolve --rolled-back";

/** A migration's script failed; its row in `_prisma_migrations` keeps the error in `logs`. */
export class MigrationFailedError extends UserFacingError {
  readonly migrationName: string;
  /** The SQLSTATE, when Postgres answered with an error. */
  readonly databaseErrorCode: string | undefined;

  constructor(migrationName: string, failure: ScriptFailure, options: { cause?: unknown } = {}) {
    const where = failure.line === undefined ? "" : ` (migration.sql line ${failure.line})`;
    const outcome = failure.fromDatabase
      ? "Postgres rolled its statements back"
      : "it may be partly applied, check the database";
    super(
      `Migration ${migrationName} failed: ${failure.summary}${where}; ${outcome}. Fix the cause, then mark it rolled back ` +
        `(\`${RESOLVE_HINT} ${migrationName}\` on a machine with the Prisma CLI, or delete its row from _prisma_migrations) ` +
        "and run migrate again",
      options,
    );
    this.migrationName = migrationName;
    this.databaseErrorCode = failure.code;
  }
}

export interface FailedMigration {
  name: string;
  startedAt: Date;
  logs: string | null;
}

/** `_prisma_migrations` holds a migration that started and neither finished nor was rolled back (P3009). */
export class FailedMigrationBlocksDeployError extends UserFacingError {
  readonly failed: FailedMigration[];

  constructor(failed: FailedMigration[]) {
    const first = failed[0];
    const one = failed.length === 1 && first !== undefined;
    const what = one
      ? `Migration ${first.name} failed (started ${first.startedAt.toISOString()}) and blocks new migrations`
      : `Migrations ${failed.map((m) => m.name).join(", ")} failed and block new migrations`;
    const resolve = one
      ? `mark it rolled back (\`${RESOLVE_HINT} ${first.name}\` on a machine with the Prisma CLI, or delete its row from _prisma_migrations)`
      : `mark them rolled back (\`${RESOLVE_HINT} <name>\` for each, on a machine with the Prisma CLI, or delete their rows from _prisma_migrations)`;
    super(
      `${what}; the error is in _prisma_migrations.logs. Fix the cause (and undo by hand anything it left behind), then ${resolve} and run migrate again`,
    );
    this.failed = failed;
  }
}

/** The schema has tables but no `_prisma_migrations` (P3005): migrate cannot know what it already holds. */
export class SchemaNotEmptyError extends UserFacingError {
  readonly tables: string[];

  constructor(location: string, schema: string, tables: string[]) {
    const shown =
      tables.slice(0, 5).join(", ") + (tables.length > 5 ? `, and ${tables.length - 5} more` : "");
    super(
      `Schema "${schema}" of ${location} already has tables (${shown}) but no _prisma_migrations table, so migrate ` +
        "cannot tell which migrations it holds: use an empty database, or baseline this one " +
        "(https://pris.ly/d/migrate-baseline) and run migrate again",
    );
    this.tables = tables;
  }
}

/** `migration_lock.toml` names another provider than postgresql (P3019). */
export class MigrationProviderMismatchError extends UserFacingError {
  constructor(lockFile: string, provider: string) {
    super(
      `${lockFile} says the migrations are for "${provider}", but this tool applies them to PostgreSQL: ` +
        'point it at migrations written for PostgreSQL (provider = "postgresql")',
    );
  }
}

/** The migrations directory or one of its files cannot be read. */
export class MigrationsDirectoryError extends UserFacingError {
  constructor(path: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    super(
      `Cannot read the migrations at ${path} (${reason}): the package is incomplete or the path is wrong; ` +
        "reinstall plugchat-sync or pass the right directory",
      { cause },
    );
  }
}

/** Another migrate run held the lock for too long (the engine waits 10 s too). */
export class MigrationLockTimeoutError extends UserFacingError {
  constructor(location: string, timeoutMs: number) {
    super(
      `Another migrate run on ${location} kept the migration lock for over ${timeoutMs / 1000} s: ` +
        "wait for it to finish (or end it) and run migrate again",
    );
  }
}

/** The database is missing and cannot be created. */
export class CannotCreateDatabaseError extends UserFacingError {
  constructor(database: string, server: string, reason: string, options: { cause?: unknown } = {}) {
    super(
      `Database "${database}" does not exist on PostgreSQL at ${server} and cannot be created (${reason}): ` +
        "create it by hand or give the user in DATABASE_URL the CREATEDB privilege, then run migrate again",
      options,
    );
  }
}

/** What went wrong in a migration script, in one line and in the long form stored in `logs`. */
export interface ScriptFailure {
  /** Whether Postgres reported the error (then the script's implicit transaction was rolled back). */
  fromDatabase: boolean;
  code: string | undefined;
  /** One line, e.g. `ERROR 42P01: relation "x" does not exist`. */
  summary: string;
  /** 1-based line in migration.sql, when Postgres gave a position. */
  line: number | undefined;
  /** The text for `_prisma_migrations.logs`, laid out like the schema engine's (without colours). */
  logs: string;
}

/** Describes an error thrown while running a migration script (pure: no I/O). */
export function describeScriptFailure(migrationName: string, script: string, err: unknown): ScriptFailure {
  const e = (typeof err === "object" && err !== null ? err : {}) as {
    message?: unknown;
    code?: unknown;
    severity?: unknown;
    detail?: unknown;
    hint?: unknown;
    position?: unknown;
  };
  const message = typeof e.message === "string" ? e.message : String(err);
  const fromDatabase = typeof e.severity === "string" && typeof e.code === "string";
  const code = fromDatabase ? (e.code as string) : undefined;
  const severity = fromDatabase ? (e.severity as string) : undefined;

  let line: number | undefined;
  let position = "";
  const offset = typeof e.position === "string" ? Number.parseInt(e.position, 10) : Number.NaN;
  if (Number.isInteger(offset) && offset > 0) {
    // Postgres counts characters from 1, across the whole multi-statement script.
    const before = Array.from(script)
      .slice(0, offset - 1)
      .join("");
    line = before.split("\n").length;
    const lines = script.split("\n");
    const first = Math.max(1, line - 5);
    position = `\n\nPosition:\n${lines
      .slice(first - 1, line)
      .map((text, i) => `${String(first + i).padStart(3)} ${text.replace(/\r$/, "")}`.trimEnd())
      .join("\n")}`;
  }

  const databaseError = [
    severity ? `${severity}: ${message}` : message,
    typeof e.detail === "string" ? `DETAIL: ${e.detail}` : undefined,
    typeof e.hint === "string" ? `HINT: ${e.hint}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join("\n");

  const logs =
    "A migration failed to apply. New migrations cannot be applied before the error is resolved. Read more about " +
    "how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n" +
    `Migration name: ${migrationName}\n\nDatabase error code: ${code ?? "none"}\n\nDatabase error:\n${databaseError}${position}\n`;

  const oneLine = message.replace(/\s*\n\s*/g, " ");
  return {
    fromDatabase,
    code,
    summary: severity && code ? `${severity} ${code}: ${oneLine}` : oneLine,
    line,
    logs,
  };
}
