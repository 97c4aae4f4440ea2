// A write that failed because nobody reads any more: what a command that must finish its work
// (closing its run) may ignore.

/** The reader is gone: a closed pipe (EPIPE), or a terminal that hung up (EIO). */
export function isGoneReader(error: NodeJS.ErrnoException): boolean {
  return error.code === "EPIPE" || error.code === "EIO";
}
