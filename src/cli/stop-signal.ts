// SIGTERM and SIGINT for the long-running commands (`worker`). Captured from the first moment of the
// process (main.ts installs this before it loads the rest of the CLI), so that a signal that comes
// while the worker is still starting stops it gracefully, with exit 0, like any other.
const STOP_SIGNALS = ["SIGTERM", "SIGINT"] as const;

let received: NodeJS.Signals | undefined;
const waiting: ((signal: NodeJS.Signals) => void)[] = [];

function onSignal(signal: NodeJS.Signals): void {
  if (received !== undefined) return;
  received = signal;
  for (const signalName of STOP_SIGNALS) process.off(signalName, onSignal);
  for (const resolve of waiting.splice(0)) resolve(signal);
}

/** Starts capturing: from now on the first SIGTERM or SIGINT is kept for `stopSignal`. Idempotent. */
export function captureStopSignals(): void {
  if (received !== undefined || process.listeners("SIGTERM").includes(onSignal)) return;
  for (const signalName of STOP_SIGNALS) process.on(signalName, onSignal);
}

/** The first stop signal, even one received before the call. */
export function stopSignal(): Promise<NodeJS.Signals> {
  captureStopSignals();
  if (received !== undefined) return Promise.resolve(received);
  return new Promise((resolve) => waiting.push(resolve));
}

/** After the first signal: a second one exits at once (the operator insists). */
export function exitOnSecondSignal(): void {
  for (const signalName of STOP_SIGNALS) {
    process.once(signalName, (signal: NodeJS.Signals) => {
      process.stderr.write(`plugchat-sync: ${signal} again: exiting without waiting for in-flight batches\n`);
      process.exit(1);
    });
  }
}
