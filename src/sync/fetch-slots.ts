// A limit of requests in flight shared by the batches a process fetches at once: the older batch's
// items go first, and a newer batch's fill the slots the older one leaves free (its last answers, its
// write). Only the work in flight exists: an item waiting for a slot is an index into its batch, not a
// closure and a promise made when the batch opened (p-limit's way), which in a worker with a small
// young generation lived long enough to be promoted and collected by full GCs (docs/benchmarks.md).

interface OpenBatch<T, R> {
  readonly items: readonly T[];
  readonly work: (item: T) => Promise<R>;
  readonly results: R[];
  /** The next item to start. */
  next: number;
  /** Items finished so far. */
  done: number;
  resolve(results: R[]): void;
  reject(error: unknown): void;
}

export class FetchSlots {
  /** How many items may be in flight at once, across every batch. */
  readonly size: number;
  #inFlight = 0;
  /** Batches with items not started yet, oldest first. */
  readonly #waiting: OpenBatch<unknown, unknown>[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be at least 1, got ${size}`);
    this.size = size;
  }

  /** Items in flight now, every batch together. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs `work` on each item, within the shared limit, after the items of every batch given before
   * this one. Resolves with the results in the items' order; rejects with the first error `work`
   * throws, and then starts none of this batch's items left.
   */
  run<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      const batch: OpenBatch<T, R> = {
        items,
        work,
        results: new Array(items.length),
        next: 0,
        done: 0,
        resolve,
        reject,
      };
      this.#waiting.push(batch as OpenBatch<unknown, unknown>);
      this.#fill();
    });
  }

  /** Starts waiting items, oldest batch first, while slots are free. */
  #fill(): void {
    while (this.#inFlight < this.size) {
      const batch = this.#waiting[0];
      if (batch === undefined) return;
      const index = batch.next++;
      if (batch.next === batch.items.length) this.#waiting.shift();
      this.#start(batch, index);
    }
  }

  #start(batch: OpenBatch<unknown, unknown>, index: number): void {
    this.#inFlight++;
    let started: Promise<unknown>;
    try {
      started = batch.work(batch.items[index]);
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      (result) => {
        batch.results[index] = result;
        if (++batch.done === batch.items.length) batch.resolve(batch.results);
        this.#finished();
      },
      (error: unknown) => {
        this.#drop(batch);
        batch.reject(error);
        this.#finished();
      },
    );
  }

  #finished(): void {
    this.#inFlight--;
    this.#fill();
  }

  /** A batch that failed starts nothing more. */
  #drop(batch: OpenBatch<unknown, unknown>): void {
    batch.next = batch.items.length;
    const at = this.#waiting.indexOf(batch);
    if (at !== -1) this.#waiting.splice(at, 1);
  }
}
