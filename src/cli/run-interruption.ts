// What a stop signal does to `sync`: the first SIGINT, SIGTERM or SIGHUP interrupts the run (its
// requests stop, a batch being written finishes, the run is closed as `interrupted`), and the command
// then exits 128 + the signal's number; a second signal exits at once, leaving the run to be closed.

import { staleMinutes } from "../sync/errors.js";
import { DEFAULT_STALE_RUN_AFTER_MS } from "../sync/run-lifecycle.js";
import { outliveOutput } from "./stdout.js";
import {
  COMMAND_STOP_SIGNALS,
  captureStopSignals,
  exitOnSecondSignal,
  signalExitCode,
  stopSignal,
} from "./stop-signal.js";

export interface RunInterruption {
  /** Aborted by the first stop signal, with the signal's name as its reason. */
  readonly stop: AbortSignal;
  /** The run that a second signal would leave running: once open, until closed (undefined). */
  running(runId: number | undefined): void;
  /** The exit code the first signal asks for (130 for SIGINT...), or undefined when none came. */
  exitCode(): number | undefined;
}

/**
 * Captures the stop signals for a run in this process. `onFirst` is called on the first one, before
 * the run is told to stop (to put the terminal back in order and say what happens).
 */
export function interruptRunOnSignals(onFirst: (signal: NodeJS.Signals) => void): RunInterruption {
  // After SIGHUP the terminal is gone: writing to it must not crash the process before it closes its run.
  outliveOutput();
  captureStopSignals(COMMAND_STOP_SIGNALS);
  const controller = new AbortController();
  let runId: number | undefined;
  let received: NodeJS.Signals | undefined;
  void stopSignal().then((signal) => {
    received = signal;
    exitOnSecondSignal({ note: (again) => secondSignalNote(again, runId), exitCode: signalExitCode });
    onFirst(signal);
    controller.abort(signal);
  });
  return {
    stop: controller.signal,
    running: (id) => {
      runId = id;
    },
    exitCode: () => (received === undefined ? undefined : signalExitCode(received)),
  };
}

function secondSignalNote(signal: NodeJS.Signals, runId: number | undefined): string {
  if (runId === undefined) return `${signal} again: exiting at once`;
  return (
    `${signal} again: exiting at once; run #${runId} is left running: close it with ` +
    `plugchat-sync runs close ${runId} --force, or the first run ${staleMinutes(DEFAULT_STALE_RUN_AFTER_MS)} after its last heartbeat closes it as abandoned`
  );
}
