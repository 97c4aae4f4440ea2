// Failed logins to the status page, counted per client address: past a few in a window, the client is
// refused without its password being checked until the window ends, so that the password cannot be
// guessed at network speed. Each failure is logged (the client's address, never what it sent) until the
// client is blocked; then one line says so for the window.

/** Wrong passwords allowed per client and window. */
const FAILURES_ALLOWED = 10;
const WINDOW_MS = 5 * 60_000;
/** Clients remembered at most: past that, the oldest are forgotten (memory stays bounded under a flood). */
const CLIENTS_REMEMBERED = 10_000;

interface Window {
  startedAt: number;
  failures: number;
}

export type FailedLogin = { blocked: false; failures: number } | { blocked: true; retryAfterS: number };

export class LoginThrottle {
  readonly #windows = new Map<string, Window>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Seconds until `client` may try again, or undefined when it may try now. */
  blockedFor(client: string): number | undefined {
    const window = this.#current(client);
    if (!window || window.failures < FAILURES_ALLOWED) return undefined;
    return Math.ceil((window.startedAt + WINDOW_MS - this.#clock()) / 1000);
  }

  /** Counts a wrong password from `client`; says whether that was the one that blocks it. */
  failed(client: string): FailedLogin {
    const window = this.#current(client) ?? { startedAt: this.#clock(), failures: 0 };
    window.failures += 1;
    this.#windows.delete(client);
    this.#windows.set(client, window);
    if (this.#windows.size > CLIENTS_REMEMBERED) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    const retryAfterS = this.blockedFor(client);
    return retryAfterS === undefined
      ? { blocked: false, failures: window.failures }
      : { blocked: true, retryAfterS };
  }

  /** A right password: the client's count starts again. */
  succeeded(client: string): void {
    this.#windows.delete(client);
  }

  #current(client: string): Window | undefined {
    const window = this.#windows.get(client);
    if (window && this.#clock() - window.startedAt >= WINDOW_MS) {
      this.#windows.delete(client);
      return undefined;
    }
    return window;
  }
}
