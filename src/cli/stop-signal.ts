// Stop signals. The worker (SIGTERM, SIGINT) captures them from the first moment of the process
// (main.ts installs this before it loads the rest of the CLI), so that a signal that comes while the
// worker is still starting stops it gracefully, with exit 0, like any other. `sync` and `trigger --wait`
// capture SIGHUP too (their terminal closed) when they start.
import { constants } from "node:os";

const WORKER_STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
/** What stops a command run from a terminal: Ctrl-C, a `kill`, the terminal closing. */
export const COMMAND_STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];

let captured: readonly NodeJS.Signals[] = [];
let received: NodeJS.Signals | undefined;
const waiting: ((signal: NodeJS.Signals) => void)[] = [];

function onSignal(signal: NodeJS.Signals): void {
  if (received !== undefined) return;
  received = signal;
  for (const signalName of captured) process.off(signalName, onSignal);
  for (const resolve of waiting.splice(0)) resolve(signal);
}

/**
 * Starts capturing: from now on the first of `signals` is kept for `stopSignal` (by default the
 * worker's, SIGTERM and SIGINT). Once per process: a second call changes nothing.
 */
export function captureStopSignals(signals: readonly NodeJS.Signals[] = WORKER_STOP_SIGNALS): void {
  if (received !== undefined || captured.length > 0) return;
  captured = signals;
  for (const signalName of signals) process.on(signalName, onSignal);
}

/** The first stop signal, even one received before the call. */
export function stopSignal(): Promise<NodeJS.Signals> {
  captureStopSignals();
  if (received !== undefined) return Promise.resolve(received);
  return new Promise((resolve) => waiting.push(resolve));
}

/** How a command stopped by `signal` exits, as a shell reports it: 128 + the signal's number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

interface SecondSignal {
  /** What is said on stderr, after `plugchat-sync: `. */
  note(signal: NodeJS.Signals): string;
  exitCode(signal: NodeJS.Signals): number;
}

const WORKER_SECOND_SIGNAL: SecondSignal = {
  note: (signal) => `${signal} again: exiting without waiting for in-flight batches`,
  exitCode: () => 1,
};

/** After the first signal: a second one exits at once (the operator insists). */
export function exitOnSecondSignal(then: SecondSignal = WORKER_SECOND_SIGNAL): void {
  for (const signalName of captured) {
    process.once(signalName, (signal: NodeJS.Signals) => {
      process.stderr.write(`plugchat-sync: ${then.note(signal)}\n`);
      process.exit(then.exitCode(signal));
    });
  }
}
