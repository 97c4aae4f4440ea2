// The error a call throws, for tests that look at it closer than `toThrow` can (its class, fields,
// how it prints). A call that does not throw fails the test.

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** What `call` throws; fails when it returns, or when what it throws is not an `expected`. */
export function thrownBy<E = Error>(call: () => unknown, expected?: ErrorClass<E>): E {
  try {
    call();
  } catch (error) {
    return checked(error, expected);
  }
  throw new Error(`expected a throw${expected ? ` of ${expected.name}` : ""}, and the call returned`);
}

/** What `promise` rejects with; fails when it resolves, or when the reason is not an `expected`. */
export async function rejectionOf<E = Error>(
  promise: Promise<unknown>,
  expected?: ErrorClass<E>,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    return checked(error, expected);
  }
  throw new Error(
    `expected a rejection${expected ? ` with ${expected.name}` : ""}, and the promise resolved`,
  );
}

function checked<E>(error: unknown, expected: ErrorClass<E> | undefined): E {
  if (expected !== undefined && !(error instanceof expected)) {
    throw new Error(`expected ${expected.name}, got ${String(error)}`, { cause: error });
  }
  return error as E;
}
