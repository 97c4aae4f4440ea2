// The embedded server's failures a user can fix, each one line saying what is wrong and what to do.
import { UserFacingError } from "../../errors.js";

const OWN_SERVER = "or set DATABASE_URL to a PostgreSQL server of yours";

export function portInUse(port: number): UserFacingError {
  return new UserFacingError(
    `port ${port} of the embedded PostgreSQL is in use by another program: stop that program, or set PLUGCHAT_SYNC_DB_PORT to a free port`,
  );
}

export function otherMajorVersion(pgdata: string, found: string, ours: number): UserFacingError {
  return new UserFacingError(
    `${pgdata} holds a PostgreSQL ${found} database and this plugchat-sync runs PostgreSQL ${ours}: copy the data over with PostgreSQL ${found}'s pg_dump and then psql "$(plugchat-sync db url)" into a new PLUGCHAT_SYNC_DATA_DIR, or move the directory away to start afresh`,
  );
}

export function notADataDirectory(pgdata: string): UserFacingError {
  return new UserFacingError(
    `${pgdata} is not empty and is not a PostgreSQL data directory (no PG_VERSION file): move it away, or set PLUGCHAT_SYNC_DATA_DIR to another directory`,
  );
}

export function diskFull(dataDir: string): UserFacingError {
  return new UserFacingError(
    `the disk holding ${dataDir} is full (no space left on device): free some space there, or set PLUGCHAT_SYNC_DATA_DIR to a directory on another disk`,
  );
}

function notWritable(path: string, code: string): UserFacingError {
  return new UserFacingError(
    `cannot write the embedded PostgreSQL's data in ${path} (${code}): set PLUGCHAT_SYNC_DATA_DIR to a directory you can write, ${OWN_SERVER}`,
  );
}

export function unreachableByServerUser(dir: string, mode: number, user: string): UserFacingError {
  return new UserFacingError(
    `the embedded PostgreSQL runs as the user "${user}", which cannot enter ${dir} (mode ${mode.toString(8).padStart(4, "0")}): set PLUGCHAT_SYNC_DATA_DIR to a directory it can reach (such as /var/lib/plugchat-sync), or let it through with \`chmod o+x ${dir}\``,
  );
}

export function toolFailed(what: string, detail: string, log: string): UserFacingError {
  return new UserFacingError(`the embedded PostgreSQL ${what} failed (${detail}): see ${log}, ${OWN_SERVER}`);
}

/** Maps a file-system error of the data directory to its one line, or undefined for a bug. */
export function fileSystemError(error: unknown, path: string): UserFacingError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") return diskFull(path);
  if (code === "EACCES" || code === "EPERM" || code === "EROFS" || code === "ENOTDIR")
    return notWritable(path, code);
  return undefined;
}
