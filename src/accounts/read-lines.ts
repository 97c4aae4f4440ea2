import { type FileHandle, open } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { UserFacingError } from "../errors.js";

/** How a source named on the command line is called in messages. */
export function describeSource(source: string): string {
  return source === "-" ? "standard input" : JSON.stringify(source);
}

/**
 * Streams the lines of a file, or of stdin when `source` is "-", without loading it whole. Any
 * failure to open or read it becomes one UserFacingError naming the file and the reason.
 */
export async function* readLines(source: string, stdin: Readable = process.stdin): AsyncGenerator<string> {
  let handle: FileHandle | undefined;
  let input: Readable = stdin;
  if (source !== "-") {
    // Opened before streaming so that a missing file fails here, with its own message, rather than
    // as an error event somewhere inside readline.
    try {
      handle = await open(source, "r");
    } catch (error) {
      throw unreadable(source, error);
    }
    input = handle.createReadStream({ encoding: "utf8" });
  } else {
    stdin.setEncoding("utf8");
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } catch (error) {
    throw unreadable(source, error);
  } finally {
    lines.close();
    if (handle) {
      input.destroy();
      await handle.close().catch(() => undefined);
    }
  }
}

const REASONS: Record<string, string> = {
  ENOENT: "no such file: check the path",
  EACCES: "permission denied: make the file readable by this user",
  EPERM: "permission denied: make the file readable by this user",
  EISDIR: "it is a directory: give the path of a file",
  ENOTDIR: "a part of the path is not a directory: check the path",
};

function unreadable(source: string, error: unknown): UserFacingError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    (code === undefined ? undefined : REASONS[code]) ??
    (error instanceof Error ? error.message : String(error));
  return new UserFacingError(`cannot read ${describeSource(source)}: ${reason}`, { cause: error });
}
