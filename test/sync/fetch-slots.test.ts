import { describe, expect, it } from "vitest";
import { FetchSlots } from "../../src/sync/fetch-slots.js";

/** Work whose items finish only when the test says so, recording the order they started in. */
function heldWork() {
  const started: string[] = [];
  const finishers = new Map<string, { resolve(value: string): void; reject(error: Error): void }>();
  const work = (item: string) =>
    new Promise<string>((resolve, reject) => {
      started.push(item);
      finishers.set(item, { resolve, reject });
    });
  const finish = async (item: string) => {
    finishers.get(item)?.resolve(`got ${item}`);
    // The slot is given to the next item once the finished one's promise has settled.
    await new Promise((resolve) => setImmediate(resolve));
  };
  const fail = async (item: string, error: Error) => {
    finishers.get(item)?.reject(error);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { started, work, finish, fail };
}

describe("FetchSlots", () => {
  it("keeps at most its size in flight and resolves with the results in the items' order", async () => {
    const slots = new FetchSlots(2);
    const held = heldWork();
    const results = slots.run(["a", "b", "c", "d"], held.work);

    expect(held.started).toEqual(["a", "b"]);
    expect(slots.inFlight).toBe(2);
    await held.finish("b");
    expect(held.started).toEqual(["a", "b", "c"]);
    await held.finish("c");
    await held.finish("a");
    expect(held.started).toEqual(["a", "b", "c", "d"]);
    await held.finish("d");

    await expect(results).resolves.toEqual(["got a", "got b", "got c", "got d"]);
    expect(slots.inFlight).toBe(0);
  });

  it("gives a freed slot to the older batch first, and the newer batch's items fill what is left", async () => {
    const slots = new FetchSlots(2);
    const held = heldWork();
    const older = slots.run(["o1", "o2", "o3"], held.work);
    const newer = slots.run(["n1", "n2"], held.work);

    expect(held.started).toEqual(["o1", "o2"]);
    await held.finish("o1");
    // The older batch still had an item waiting: it goes before any of the newer batch's.
    expect(held.started).toEqual(["o1", "o2", "o3"]);
    await held.finish("o2");
    // The older batch has nothing left to start: its last answer is awaited while the newer one fills in.
    expect(held.started).toEqual(["o1", "o2", "o3", "n1"]);
    expect(slots.inFlight).toBe(2);
    await held.finish("n1");
    expect(held.started).toEqual(["o1", "o2", "o3", "n1", "n2"]);
    await held.finish("o3");
    await held.finish("n2");

    await expect(older).resolves.toEqual(["got o1", "got o2", "got o3"]);
    await expect(newer).resolves.toEqual(["got n1", "got n2"]);
  });

  it("rejects a batch with its first error, starts none of its items left, and goes on with the others", async () => {
    const slots = new FetchSlots(1);
    const held = heldWork();
    const failing = slots.run(["f1", "f2", "f3"], held.work);
    const other = slots.run(["x"], held.work);
    failing.catch(() => undefined);

    await held.fail("f1", new Error("boom"));

    await expect(failing).rejects.toThrow("boom");
    expect(held.started).toEqual(["f1", "x"]);
    await held.finish("x");
    await expect(other).resolves.toEqual(["got x"]);
    expect(slots.inFlight).toBe(0);
  });

  it("counts work that throws before returning a promise as that batch's error, and frees its slot", async () => {
    const slots = new FetchSlots(1);
    const throwing = slots.run(["t"], () => {
      throw new Error("thrown at once");
    });
    await expect(throwing).rejects.toThrow("thrown at once");
    await expect(slots.run(["y"], async (item) => item)).resolves.toEqual(["y"]);
  });

  it("resolves an empty batch at once, and refuses a size below 1", async () => {
    await expect(new FetchSlots(1).run([], async () => "never")).resolves.toEqual([]);
    expect(() => new FetchSlots(0)).toThrow(/size must be at least 1, got 0/);
  });
});
