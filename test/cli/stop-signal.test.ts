import { describe, expect, it } from "vitest";
import { captureStopSignals, signalExitCode, stopSignal } from "../../src/cli/stop-signal.js";

describe("stop signals of the worker", () => {
  it("keeps a SIGTERM that came before anyone asked for it (a worker signalled while it still loads)", async () => {
    captureStopSignals();
    process.emit("SIGTERM", "SIGTERM");
    // Asked for later, once the worker is up: the early signal is not lost, and stops it.
    await expect(stopSignal()).resolves.toBe("SIGTERM");
    // Captured once: no listener of ours is left to swallow a second signal.
    expect(process.listeners("SIGTERM").some((listener) => listener.name === "onSignal")).toBe(false);
  });

  it("gives a command stopped by a signal the exit code a shell shows for it: 128 + its number", () => {
    expect([signalExitCode("SIGHUP"), signalExitCode("SIGINT"), signalExitCode("SIGTERM")]).toEqual([
      129, 130, 143,
    ]);
  });
});
