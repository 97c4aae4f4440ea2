import { inspect } from "node:util";

/**
 * A value that must never be printed: logging, JSON-encoding or inspecting it yields "[redacted]".
 * Only `reveal()` gives the value, so every place that uses the secret is easy to find.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}
