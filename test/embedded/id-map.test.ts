// id-map.ts: whether a user or group id exists in a user namespace, read from its uid_map or gid_map.
import { expect, it } from "vitest";
import { idIsMapped } from "../../src/db/embedded/id-map.js";

it("finds every id mapped in the initial namespace, which maps the whole range", () => {
  const initial = "         0          0 4294967295\n";
  expect([0, 106, 65_534, 4_294_967_294].map((id) => idIsMapped(initial, id))).toEqual([
    true,
    true,
    true,
    true,
  ]);
});

it("finds only root mapped in a namespace made by `unshare -r`", () => {
  const rootOnly = "         0          0          1\n";
  expect([0, 1, 106].map((id) => idIsMapped(rootOnly, id))).toEqual([true, false, false]);
});

it("reads each line as a range of its own, its end excluded", () => {
  const rootless = "0 1000 1\n1 100000 65536\n";
  expect([0, 1, 106, 65_536, 65_537].map((id) => idIsMapped(rootless, id))).toEqual([
    true,
    true,
    true,
    true,
    false,
  ]);
});

it("finds nothing mapped in a namespace whose map is not written yet", () => {
  expect(idIsMapped("", 0)).toBe(false);
});
