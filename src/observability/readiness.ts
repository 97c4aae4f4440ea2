// The dependency checks behind /readyz and /healthz. Checks run at most once per `cacheMs` whatever
// the number of probes (a probe answers from figures at most that old), and a failure is logged when a
// dependency goes down and when it comes back, not at every probe.
import { readAtMostEvery } from "../lib/read-at-most-every.js";
import { redactUrlCredentials } from "../lib/redact.js";
import { withTimeout } from "../lib/timeout.js";
import type { Logger } from "../logger.js";

/** A dependency check: resolves when the dependency answers. Its error is logged, never served. */
export type ReadinessCheck = () => Promise<void>;

type CheckResult = "ok" | "failed" | "timeout";

interface ReadinessOptions {
  timeoutMs: number;
  logger: Logger;
  /** How long one round of checks serves probes; default 2000 ms. */
  cacheMs?: number;
  clock?: () => number;
}

export interface ReadinessReport {
  ready: boolean;
  body: Record<string, unknown>;
}

export class Readiness {
  readonly #checks: Readonly<Record<string, ReadinessCheck>>;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #lastResults = new Map<string, CheckResult>();
  /** When each failing dependency was first seen failing (cleared when it answers again). */
  readonly #failingSince = new Map<string, number>();
  readonly #cachedCheck: () => Promise<ReadinessReport>;

  constructor(checks: Readonly<Record<string, ReadinessCheck>>, options: ReadinessOptions) {
    this.#checks = checks;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
    this.#cachedCheck = readAtMostEvery(options.cacheMs ?? 2_000, () => this.#checkAll(), this.#clock);
  }

  /** Every check at once (or the last round, if recent): ready when all pass, with each one's result. */
  check(): Promise<ReadinessReport> {
    return this.#cachedCheck();
  }

  /** How long `name` has been failing, as far as the checks saw; 0 while it answers. */
  failingForMs(name: string): number {
    const since = this.#failingSince.get(name);
    return since === undefined ? 0 : this.#clock() - since;
  }

  async #checkAll(): Promise<ReadinessReport> {
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
    const startedAt = this.#clock();
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
    if (result === "ok") this.#failingSince.delete(name);
    else if (!this.#failingSince.has(name)) this.#failingSince.set(name, startedAt);
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
