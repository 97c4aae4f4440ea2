// The invariants of account_versions, on random histories written through the real writeBatch and run
// lifecycle against the real PostgreSQL: changes, answers without onMessageDeliveryError, extra fields
// appearing and changing, 404s and comebacks, failed fetches, a batch crashing mid-transaction (then
// retried), a batch delivered twice, and a run closed while a batch was still to be written.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import type { PlugchatAccount } from "../../src/plugchat/index.js";
import { completeRun, openRun } from "../../src/sync/run-lifecycle.js";
import type { FetchResult } from "../../src/sync/types.js";
import { writeBatch } from "../../src/sync/write-batch.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { captureLogs } from "../helpers/logs.js";

const IDS = ["acc-a", "acc-b", "acc-c", "acc-d"];
/** A batch index the test's trigger makes fail at the batch's last statement, after every other write. */
const CRASHING_BATCH = 1000;

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createMigratedTestDatabase();
  prisma = createPrismaClient(database.url);
  await prisma.$executeRawUnsafe(`
    CREATE FUNCTION test_crash() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'crash mid-batch (test)'; END $$`);
  await prisma.$executeRawUnsafe(`
    CREATE TRIGGER test_crash BEFORE UPDATE ON sync_run_batches FOR EACH ROW
    WHEN (NEW.batch_index = ${CRASHING_BATCH}) EXECUTE FUNCTION test_crash()`);
});

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

type Answer =
  | {
      kind: "ok";
      name: string;
      active: boolean;
      onReceiveMessage: string | null;
      /** undefined: the answer leaves the field out. */
      onMessageDeliveryError: string | null | undefined;
      extra: Record<string, unknown>;
    }
  | { kind: "not_found" }
  | { kind: "failed" };

type Delivery = "once" | "crash_then_retry" | "twice" | "run_closed_before_second_batch";

interface RunScript {
  answers: Answer[];
  /** What happens to the run's second batch (the first is always written once). */
  delivery: Delivery;
  /** What a second delivery would answer (a redelivered job fetches again). */
  redelivered: Answer[];
}

// Small value sets, so that unchanged answers and changes back to an earlier value are frequent.
const answer: fc.Arbitrary<Answer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("ok" as const),
      name: fc.constantFrom("Loja", "Loja 2", "Ação ✓"),
      active: fc.boolean(),
      onReceiveMessage: fc.constantFrom(null, "https://a.example/hook", "https://b.example/hook"),
      onMessageDeliveryError: fc.constantFrom(undefined, null, "https://a.example/err"),
      extra: fc.record(
        {
          sessionName: fc.constantFrom("s1", "s2"),
          plan: fc.constantFrom({ tier: "pro" }, { tier: "free" }, null),
        },
        { requiredKeys: [] },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "not_found" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "failed" as const }) },
);

const answers = fc.array(answer, { minLength: IDS.length, maxLength: IDS.length });
const runScript: fc.Arbitrary<RunScript> = fc.record({
  answers,
  delivery: fc.constantFrom<Delivery>(
    "once",
    "once",
    "crash_then_retry",
    "twice",
    "run_closed_before_second_batch",
  ),
  redelivered: answers,
});

/** What the database should hold for an account: null before its first successful fetch. */
interface ModelState {
  exists: boolean;
  name: string;
  active: boolean;
  onReceiveMessage: string | null;
  onMessageDeliveryError: string | null;
  extra: Record<string, unknown>;
}

/** The versions the model expects: each distinct state, with the batch that wrote it. */
interface ModelVersion {
  state: ModelState;
  runId: number;
  batchIndex: number;
}

class Model {
  readonly versions = new Map<string, ModelVersion[]>(IDS.map((id) => [id, []]));

  current(id: string): ModelState | null {
    return this.versions.get(id)?.at(-1)?.state ?? null;
  }

  apply(id: string, answer: Answer, runId: number, batchIndex: number): void {
    const stored = this.current(id);
    const next = nextState(stored, answer);
    if (next === null || JSON.stringify(next) === JSON.stringify(stored)) return;
    this.versions.get(id)?.push({ state: next, runId, batchIndex });
  }
}

function nextState(stored: ModelState | null, answer: Answer): ModelState | null {
  if (answer.kind === "failed") return stored;
  if (answer.kind === "not_found") return stored && { ...stored, exists: false };
  return {
    exists: true,
    name: answer.name,
    active: answer.active,
    onReceiveMessage: answer.onReceiveMessage,
    onMessageDeliveryError:
      answer.onMessageDeliveryError === undefined
        ? (stored?.onMessageDeliveryError ?? null)
        : answer.onMessageDeliveryError,
    extra: sortedKeys({ ...stored?.extra, ...answer.extra }),
  };
}

function sortedKeys(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

function fetchResult(id: string, answer: Answer): FetchResult {
  if (answer.kind !== "ok")
    return answer.kind === "failed" ? { id, kind: "failed", error: "boom" } : { id, kind: "not_found" };
  const account: PlugchatAccount = {
    externalId: null,
    name: answer.name,
    active: answer.active,
    onStartAttendance: null,
    onFinishAttendance: null,
    onReceiveMessage: answer.onReceiveMessage,
    onSendingMessage: null,
    onMessageStatus: null,
    ...(answer.onMessageDeliveryError === undefined
      ? {}
      : { onMessageDeliveryError: answer.onMessageDeliveryError }),
  };
  return {
    id,
    kind: "ok",
    account,
    unknownFields: Object.keys(answer.extra),
    extra: { values: answer.extra, cut: [] },
  };
}

const FIRST_BATCH = IDS.slice(0, 2);
const SECOND_BATCH = IDS.slice(2);

function write(runId: number, ids: readonly string[], script: Answer[], index: number) {
  const results = ids.map((id) => fetchResult(id, script[IDS.indexOf(id)] as Answer));
  return writeBatch(prisma, runId, results, {
    index,
    unknownFields: [],
    extraCutFields: [],
    writtenBy: "test:1",
  });
}

/** One run as the script says, applied to the model where the database should have taken it. */
async function playRun(script: RunScript, model: Model): Promise<void> {
  const deps = { prisma, logger: captureLogs().logger };
  const { runId } = await openRun(deps, "cli");
  const applyBatch = (ids: readonly string[], answers: Answer[], batchIndex: number) => {
    for (const id of ids) model.apply(id, answers[IDS.indexOf(id)] as Answer, runId, batchIndex);
  };

  expect(await write(runId, FIRST_BATCH, script.answers, 0)).toHaveProperty("counts");
  applyBatch(FIRST_BATCH, script.answers, 0);

  if (script.delivery === "run_closed_before_second_batch") {
    await completeRun(deps, runId, "closed meanwhile (test)");
    expect(await write(runId, SECOND_BATCH, script.answers, 1)).toBe("run_closed");
    return;
  }
  if (script.delivery === "crash_then_retry") {
    await expect(write(runId, SECOND_BATCH, script.redelivered, CRASHING_BATCH)).rejects.toThrow(
      /crash mid-batch/,
    );
  }
  expect(await write(runId, SECOND_BATCH, script.answers, 1)).toHaveProperty("counts");
  applyBatch(SECOND_BATCH, script.answers, 1);
  if (script.delivery === "twice") {
    expect(await write(runId, SECOND_BATCH, script.redelivered, 1)).toBe("already_written");
  }
  await completeRun(deps, runId);
}

interface VersionRow {
  account_id: string;
  valid_from: Date;
  valid_to: Date | null;
  run_id: number;
  batch_written_at: Date | null;
  batch_index: number | null;
  exists: boolean;
  name: string;
  active: boolean;
  on_receive_message: string | null;
  on_message_delivery_error: string | null;
  extra: Record<string, unknown>;
}

async function versionsOf(id: string): Promise<VersionRow[]> {
  return prisma.$queryRawUnsafe<VersionRow[]>(
    `SELECT v.account_id, v.valid_from, v.valid_to, v.run_id, v.exists, v.name, v.active,
            v.on_receive_message, v.on_message_delivery_error, v.extra,
            b.written_at AS batch_written_at, b.batch_index
       FROM account_versions v
       LEFT JOIN sync_run_batches b ON b.run_id = v.run_id AND b.written_at = v.valid_from
      WHERE v.account_id = $1
      ORDER BY v.valid_from, v.id`,
    id,
  );
}

async function checkInvariants(model: Model): Promise<void> {
  for (const id of IDS) {
    const versions = await versionsOf(id);
    const expected = model.versions.get(id) ?? [];
    // The history is exactly the model's: a version per change of any versioned column, none for a
    // failed fetch, an unchanged answer, a crashed batch, a second delivery or a closed run.
    expect(
      versions.map((v) => ({
        state: {
          exists: v.exists,
          name: v.name,
          active: v.active,
          onReceiveMessage: v.on_receive_message,
          onMessageDeliveryError: v.on_message_delivery_error,
          extra: sortedKeys(v.extra),
        },
        runId: v.run_id,
        batchIndex: v.batch_index,
      })),
      `versions of ${id}`,
    ).toEqual(expected);
    // Each begins at the instant its batch was written (so the first at the first successful sync),
    // and ends where the next begins: no overlap, no gap, exactly one current version.
    versions.forEach((version, i) => {
      expect(version.batch_written_at).toEqual(version.valid_from);
      expect(version.valid_to).toEqual(versions[i + 1]?.valid_from ?? null);
    });
  }
  // The current version equals the accounts row, every versioned column; an account never synced has none.
  const disagreeing = await prisma.$queryRawUnsafe<{ id: string }[]>(`
    SELECT a.id FROM accounts a LEFT JOIN account_versions v ON v.account_id = a.id AND v.valid_to IS NULL
     WHERE (a.last_synced_at IS NULL) <> (v.id IS NULL)
        OR v.id IS NOT NULL AND (v.exists, v.external_id, v.name, v.active, v.on_start_attendance, v.on_finish_attendance,
            v.on_receive_message, v.on_sending_message, v.on_message_status, v.on_message_delivery_error,
            v.extra)
           IS DISTINCT FROM
           (a.missing_since IS NULL, a.external_id, a.name, a.active, a.on_start_attendance,
            a.on_finish_attendance, a.on_receive_message, a.on_sending_message, a.on_message_status,
            a.on_message_delivery_error, a.extra)`);
  expect(disagreeing).toEqual([]);
  // The drift rows and the versions agree: each run's change of an account opened a version at the
  // drift rows' instant.
  const driftWithoutVersion = await prisma.$queryRawUnsafe<{ account_id: string }[]>(`
    SELECT d.account_id FROM account_drift d
     WHERE NOT EXISTS (SELECT 1 FROM account_versions v
                        WHERE v.account_id = d.account_id AND v.run_id = d.sync_run_id
                          AND v.valid_from = d.detected_at)`);
  expect(driftWithoutVersion).toEqual([]);
}

async function resetDatabase(): Promise<void> {
  await prisma.$executeRawUnsafe(
    "TRUNCATE account_versions, account_drift, sync_run_batches, sync_runs, accounts RESTART IDENTITY CASCADE",
  );
  await prisma.account.createMany({ data: IDS.map((id) => ({ id })) });
}

it("versions never overlap, leave no gap, follow every change and 404, and the current one equals the accounts row", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(runScript, { minLength: 1, maxLength: 5 }), async (runs) => {
      await resetDatabase();
      const model = new Model();
      for (const script of runs) {
        await playRun(script, model);
        await checkInvariants(model);
      }
    }),
    { numRuns: 12 },
  );
}, 120_000);
