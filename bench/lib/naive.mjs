// What a user would write without this project: a loop that fetches one account, then upserts it
// with Prisma, one at a time. Run on a few accounts only (it is slow: one round trip after another).
import { createPrismaClient } from "../../build/db/prisma.js";
import { BENCH_TOKEN } from "./simulator.mjs";

export async function naiveLoop({ url, simulatorUrl, ids }) {
  const prisma = createPrismaClient(url);
  try {
    const started = performance.now();
    for (const id of ids) {
      const response = await fetch(`${simulatorUrl}/integrator/account/${encodeURIComponent(id)}/`, {
        headers: {
          Authorization: `Bearer ${BENCH_TOKEN}`,
          Accept: "application/json",
          "Content-Type": "application/json",
        },
      });
      if (!response.ok) throw new Error(`naive loop: HTTP ${response.status} for ${id}`);
      const account = await response.json();
      const data = {
        externalId: account.externalId,
        name: account.name,
        active: account.active,
        onStartAttendance: account.onStartAttendance,
        onFinishAttendance: account.onFinishAttendance,
        onReceiveMessage: account.onReceiveMessage,
        onSendingMessage: account.onSendingMessage,
        onMessageStatus: account.onMessageStatus,
        lastSyncedAt: new Date(),
        lastStatus: "ok",
      };
      await prisma.account.upsert({ where: { id }, create: { id, ...data }, update: data });
    }
    const ms = performance.now() - started;
    return { n: ids.length, seconds: ms / 1000, accountsPerSec: (ids.length / ms) * 1000 };
  } finally {
    await prisma.$disconnect();
  }
}
