// `trigger --wait` only waits for a run that the workers run: a stop signal (Ctrl-C, a `kill`, the
// terminal closing) ends the waiting at once, with the terminal put back in order (the progress line
// hides the cursor) and one line saying what goes on without it. Nothing of the run is stopped.
import type { RunFollower } from "./follow-run.js";
import { printNotice } from "./print.js";
import { COMMAND_STOP_SIGNALS, captureStopSignals, signalExitCode, stopSignal } from "./stop-signal.js";

export interface Waiting {
  /** The manual run's start job is queued: it stays queued. */
  queued(jobId: string): void;
  /** The manual run is open and followed. */
  following(runId: number, follower: RunFollower): void;
}

export function stopWaitingOnSignals(): Waiting {
  captureStopSignals(COMMAND_STOP_SIGNALS);
  let goesOn = "no manual run was queued";
  let follower: RunFollower | undefined;
  void stopSignal().then((signal) => {
    follower?.cancel();
    printNotice(`${signal}: stopped waiting; ${goesOn}`);
    process.exit(signalExitCode(signal));
  });
  return {
    queued(jobId) {
      goesOn = `the manual run (job ${jobId}) stays queued: a worker starts it`;
    },
    following(runId, followed) {
      goesOn = `run #${runId} goes on in the workers (plugchat-sync report --runs 1 shows it)`;
      follower = followed;
    },
  };
}
