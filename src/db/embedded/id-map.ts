// Which user and group ids exist in this process's user namespace. Under root in a namespace that
// maps only root (`unshare -r`, some rootless containers), the postgres user's files cannot be
// handed to it and its processes cannot be started: the kernel answers EINVAL.
import { readFile } from "node:fs/promises";

/**
 * Whether `id` falls in one of the ranges of a `/proc/<pid>/uid_map` or `gid_map` text: lines of
 * "first id inside, first id outside, count".
 */
export function idIsMapped(map: string, id: number): boolean {
  return map.split("\n").some((line) => {
    const [inside, , count] = line.trim().split(/\s+/).map(Number);
    return inside !== undefined && count !== undefined && id >= inside && id < inside + count;
  });
}

/** Whether this process's user namespace maps both ids; true where the maps cannot be read (not Linux). */
export async function idsAreMapped(ids: { uid: number; gid: number }): Promise<boolean> {
  const read = (name: string) => readFile(`/proc/self/${name}`, "utf8").catch(() => undefined);
  const [uidMap, gidMap] = await Promise.all([read("uid_map"), read("gid_map")]);
  return (
    (uidMap === undefined || idIsMapped(uidMap, ids.uid)) &&
    (gidMap === undefined || idIsMapped(gidMap, ids.gid))
  );
}
