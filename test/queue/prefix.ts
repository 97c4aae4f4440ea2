import { randomBytes } from "node:crypto";

/** A QUEUE_PREFIX of one test file's own, so that files running at once never see each other's jobs. */
export function uniquePrefix(): string {
  return `plugchat-sync-test-${randomBytes(5).toString("hex")}`;
}
