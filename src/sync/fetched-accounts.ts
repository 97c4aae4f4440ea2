// A run's progress as accounts are fetched, for those who read it from the database (the status page,
// `trigger --wait`): each fetched account is counted in memory, and the count is added to the run's
// row about once a second, one cheap UPDATE per process instead of one per account.
import type { PrismaClient } from "../db/prisma.js";
import { addFetchedAccounts } from "../db/sql/runs.js";
import type { Logger } from "../logger.js";

const DEFAULT_EVERY_MS = 1_000;

export class FetchedAccountsReporter {
  /** Accounts fetched and not reported yet, by run. */
  readonly #pending = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    private readonly everyMs = DEFAULT_EVERY_MS,
  ) {}

  /** One more account of `runId` fetched; reported with the others within `everyMs`. */
  fetched(runId: number): void {
    this.#pending.set(runId, (this.#pending.get(runId) ?? 0) + 1);
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.everyMs);
    // A pending report never keeps the process alive.
    this.#timer.unref();
  }

  /** Reports what is pending now. A failure loses that count: progress is an estimate, the run is not. */
  async flush(): Promise<void> {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [runId, accounts] of pending) {
      await addFetchedAccounts(this.prisma, runId, accounts).catch((error: unknown) =>
        this.logger.debug({ runId, err: (error as Error).message }, "run progress not recorded"),
      );
    }
  }

  /** Drops what is pending (the run is closing: its written counts tell the rest). */
  discard(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
