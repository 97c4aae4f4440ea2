// The dependency checks behind /readyz. A failure is logged when a dependency goes down and when it
// comes back, not at every probe.
import { redactUrlCredentials } from "../lib/redact.js";
import { withTimeout } from "../lib/timeout.js";
import type { Logger } from "../logger.js";

/** A dependency check: resolves when the dependency answers. Its error is logged, never served. */
export type ReadinessCheck = () => Promise<void>;

type CheckResult = "ok" | "failed" | "timeout";

export class Readiness {
  readonly #checks: Readonly<Record<string, ReadinessCheck>>;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #lastResults = new Map<string, CheckResult>();

  constructor(checks: Readonly<Record<string, ReadinessCheck>>, timeoutMs: number, logger: Logger) {
    this.#checks = checks;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
  }

  /** Runs every check at once: ready when all pass, with each one's result for /readyz. */
  async check(): Promise<{ ready: boolean; body: Record<string, unknown> }> {
    const names = Object.keys(this.#checks);
    const results = await Promise.all(
      names.map((name) => this.#run(name, this.#checks[name] as ReadinessCheck)),
    );
    const byName = Object.fromEntries(names.map((name, i) => [name, results[i] as CheckResult]));
    const failed = names.filter((name) => byName[name] !== "ok");
    return failed.length === 0
      ? { ready: true, body: { status: "ready", checks: byName } }
      : { ready: false, body: { status: "not ready", checks: byName, failed } };
  }

  async #run(name: string, check: ReadinessCheck): Promise<CheckResult> {
    let problem: unknown;
    const attempt = Promise.resolve()
      .then(check)
      .then(
        () => "ok" as const,
        (error: unknown) => {
          problem = error;
          return "failed" as const;
        },
      );
    const result = (await withTimeout(attempt, this.#timeoutMs)) ?? "timeout";
    const previous = this.#lastResults.get(name);
    this.#lastResults.set(name, result);
    if (result !== "ok" && previous !== result) {
      const reason =
        result === "timeout"
          ? `no answer within ${this.#timeoutMs} ms`
          : redactUrlCredentials(describe(problem));
      this.#logger.warn({ dependency: name, reason }, "readiness check failed");
    } else if (result === "ok" && previous !== undefined && previous !== "ok") {
      this.#logger.info({ dependency: name }, "readiness check passes again");
    }
    return result;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
