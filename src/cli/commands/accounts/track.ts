// `accounts add` and `accounts remove`: the tracked set changed by hand, id by id.
import { trackAccounts, untrackAccounts } from "../../../accounts/repository.js";
import { withPrisma } from "../../../db/prisma.js";
import { commandDatabaseUrl } from "../../context.js";
import { printLine, printNotice } from "../../print.js";
import { checkIds, describeTrack, listed } from "./messages.js";

export async function addIds(ids: string[]): Promise<void> {
  checkIds(ids, "nothing was added");
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) => trackAccounts(prisma, ids));
  printLine(describeTrack(result));
}

export async function removeIds(ids: string[]): Promise<void> {
  checkIds(ids, "nothing was removed");
  const result = await withPrisma(await commandDatabaseUrl(), (prisma) => untrackAccounts(prisma, ids));
  // Not an error: the wanted state (not tracked) holds, and a removal script can be re-run.
  // Unknown ids are still worth a warning, since they are usually typos.
  if (result.unknown.length > 0) {
    printNotice(`warning: not tracked: ${listed(result.unknown)} (no such account)`);
  }
  printLine(
    `${result.removed.length} removed, ${result.alreadyRemoved.length} already removed, ${result.unknown.length} unknown`,
  );
}
