// Long output written to stdout as it is produced (`accounts list` of a large table), waiting when the
// reader is slower than the database, and ending quietly when the reader goes away (`| head`).
import { isGoneReader } from "../lib/gone-reader.js";
import { showControls } from "../lib/terminal-text.js";

/** Thrown by a write once the reader of stdout has gone away. */
export class StdoutClosed extends Error {}

let stdoutClosed = false;
let watchingStdout = false;

// `accounts list | head` closes the pipe early; without a listener the next write would crash the
// process with an EPIPE stack trace. The listener stays for the life of the process because the
// error can arrive after the last write.
export function watchStdout(): void {
  if (watchingStdout) return;
  watchingStdout = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stdoutClosed = true;
  });
}

/**
 * For a command that must end its work when its terminal or reader is gone (`sync` closing its run
 * after SIGHUP): what it still writes to stdout or stderr is dropped, instead of crashing it.
 */
export function outliveOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (!isGoneReader(error)) throw error;
    });
  }
}

/**
 * Writes to stdout, waiting when the reader is slower than the database (e.g. piped into `less`).
 * Control characters are shown as escapes, as by ./print.ts: the table's cells and the JSON are
 * escaped already, so this is the last guard, and changes nothing they wrote.
 */
async function writeStdout(text: string): Promise<void> {
  if (stdoutClosed) throw new StdoutClosed();
  if (process.stdout.write(showControls(text))) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.stdout.off("drain", done);
      process.stdout.off("error", done);
      resolve();
    };
    process.stdout.once("drain", done);
    process.stdout.once("error", done);
  });
}

/** Collects text and writes it to stdout in pieces of about 64 KiB: one write per line is slow. */
export class BufferedStdout {
  private pending = "";

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length > 65_536) await this.flush();
  }

  /** Writes what is held, then `last`. */
  async end(last: string): Promise<void> {
    await this.flush(last);
  }

  private async flush(last = ""): Promise<void> {
    const text = this.pending + last;
    this.pending = "";
    await writeStdout(text);
  }
}
