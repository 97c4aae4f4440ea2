// accounts.trackedIdsAfter: the pages of tracked ids that runs are planned and cut into batches from.
import { expect, it } from "vitest";
import { trackedIdsAfter } from "../../src/db/sql/accounts.js";
import { useMigratedDatabase } from "../helpers/migrated-database.js";

const setup = useMigratedDatabase({ for: "test" });

it("pages the tracked ids in id order after a key, leaving untracked ids out, and ends with an empty page", async () => {
  const ids = ["b-2", "A_1", "c", "a", "0", "z_-z", "untracked"];
  await setup.prisma.account.createMany({
    data: ids.map((id) => ({ id, tracked: id !== "untracked" })),
  });
  const tracked = ids.filter((id) => id !== "untracked").sort();

  const pages: string[][] = [];
  for (let after: string | null = null; ; ) {
    const page = await trackedIdsAfter(setup.prisma, after, 4);
    pages.push(page);
    if (page.length < 4) break;
    after = page.at(-1) ?? null;
  }

  expect(pages).toEqual([tracked.slice(0, 4), tracked.slice(4)]);
  expect(await trackedIdsAfter(setup.prisma, "z_-z", 4)).toEqual([]);
});

it("reads 20,000 ids in one page, each whole and in id order whatever order the rows were written in", async () => {
  const ids = Array.from({ length: 20_000 }, (_, index) => `acc-${String(index).padStart(6, "0")}`);
  const written = [...ids].reverse();
  await setup.prisma.$executeRaw`INSERT INTO accounts (id) SELECT unnest(${written}::text[])`;

  const page = await trackedIdsAfter(setup.prisma, null, 50_000);

  expect(page).toHaveLength(20_000);
  expect(page).toEqual(ids);
});
