// What a command opened and must close when it ends, registered by the module that opened it: a command
// that opened nothing (`--help`) loads nothing to close it.
const closers = new Set<() => Promise<void>>();

export function closeWhenCommandEnds(close: () => Promise<void>): void {
  closers.add(close);
}

export async function closeWhatCommandOpened(): Promise<void> {
  for (const close of closers) await close();
}
