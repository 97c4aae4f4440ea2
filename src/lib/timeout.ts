/** The value, or undefined when it takes longer than `ms` (the late settlement is ignored). */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `work` settles (either way) within `ms`. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const done = Symbol("done");
  return (
    (await withTimeout(
      work.then(
        () => done,
        () => done,
      ),
      ms,
    )) === done
  );
}

/** The value, or a rejection saying "no answer within `ms` ms" when it takes longer. */
export async function rejectAfter<T>(work: Promise<T>, ms: number): Promise<T> {
  const settled = await withTimeout(
    work.then((value) => ({ value })),
    ms,
  );
  if (settled === undefined) throw new Error(`no answer within ${ms} ms`);
  return settled.value;
}
