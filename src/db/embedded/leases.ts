// One lease file per live process using the server (leases/<pid>): the server is stopped only when
// no live process holds one. The lease of a process that died without leaving is recognised by its
// pid and removed by the next process that looks.
import { mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isAlive } from "./processes.js";

export interface Lease {
  pid: number;
  /** The command line, for `db status`. */
  command: string;
  since: string;
}

export async function addLease(dir: string, command: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lease: Lease = { pid: process.pid, command, since: new Date().toISOString() };
  await writeFile(join(dir, String(process.pid)), `${JSON.stringify(lease)}\n`);
}

export async function removeLease(dir: string): Promise<void> {
  await unlink(join(dir, String(process.pid))).catch(() => undefined);
}

/** The leases of live processes, this one included; the leases of dead ones are removed. */
export async function liveLeases(dir: string): Promise<Lease[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const live: Lease[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    if (!isAlive(pid)) {
      await unlink(join(dir, name)).catch(() => undefined);
      continue;
    }
    const text = await readFile(join(dir, name), "utf8").catch(() => "");
    try {
      live.push(JSON.parse(text) as Lease);
    } catch {
      live.push({ pid, command: "?", since: "?" });
    }
  }
  return live.sort((a, b) => a.pid - b.pid);
}
