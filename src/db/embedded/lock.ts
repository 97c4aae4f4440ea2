// A lock file around the server's start and stop, so that processes sharing a data directory take
// turns: created with O_EXCL (exactly one creator wins), holding the owner's pid. A lock whose owner
// died (SIGKILL, power loss) is broken by the next process that wants it.
import { open, readFile, stat, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { UserFacingError } from "../../errors.js";
import { isAlive } from "./processes.js";

interface LockOptions {
  /** How long to wait for a live owner to let go; starting a server takes a few seconds at most. */
  timeoutMs?: number;
  pollMs?: number;
}

const EMPTY_LOCK_STALE_MS = 5_000;

async function ageMs(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  return info ? Date.now() - info.mtimeMs : 0;
}

export async function withLock<T>(
  path: string,
  work: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  await acquire(path, options.timeoutMs ?? 120_000, options.pollMs ?? 50);
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function acquire(path: string, timeoutMs: number, pollMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, "wx", 0o644);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } catch (error) {
        // A full disk: an empty lock must not be left for others to wait on.
        await handle.close();
        await unlink(path).catch(() => undefined);
        throw error;
      }
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await readFile(path, "utf8").catch(() => undefined);
    // Empty: the owner is between creating and writing the file (wait for it like for a live one),
    // unless that was long ago and it died in between.
    const abandoned = owner === "" && (await ageMs(path)) > EMPTY_LOCK_STALE_MS;
    if (abandoned || (owner !== undefined && owner !== "" && !isAlive(Number.parseInt(owner, 10)))) {
      // Read again just before removing, so that a lock another process has just taken over from the
      // same dead owner is not removed (the window left is a few microseconds wide).
      if ((await readFile(path, "utf8").catch(() => undefined)) === owner)
        await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserFacingError(
        `the embedded PostgreSQL's lock ${path} has been held by process ${owner?.trim() || "(unknown)"} for over ${Math.round(timeoutMs / 1000)} s: wait for that process to finish, or stop it`,
      );
    }
    await sleep(pollMs);
  }
}
