// Telling a Plugchat outage from the failure of a few accounts. Pure: the time is given, so every
// step can be tested without a server or a clock. Requests failing in a row (refused, timed out, 5xx),
// of as many different accounts as go at once, open an outage: a few accounts that always fail, retried
// again and again at the end of a batch, never do; while it is open no request goes but one probe now and then; an answer (a probe's,
// or a late one) closes it; open too long, the run gives up. outage-gate.ts puts it to work.

export interface OutageSettings {
  /**
   * Requests failing in a row (connection refused or reset, timeout, HTTP 5xx), with no answer between,
   * that open an outage, provided they are of as many different accounts as go at once (or `after`).
   */
  after: number;
  /** While an outage is open, one probe request this often. */
  probeEveryMs: number;
  /** Open this long with no answer: the run gives up ("Plugchat unreachable"). */
  giveUpMs: number;
}

/**
 * Defaults: 30 accounts failing in a row is out of reach of random errors (at 30% of requests failing,
 * 2e-16) and of a batch's few accounts that always fail, and reached within a second or two of Plugchat
 * going down; a run of any size then ends within about
 * a minute (about 70 s when every request times out at 10 s instead of being refused).
 */
export const DEFAULT_OUTAGE_SETTINGS: OutageSettings = { after: 30, probeEveryMs: 5_000, giveUpMs: 45_000 };

/** What one request's outcome says about Plugchat: it answered, it did not, or nothing (aborted by us). */
export type RequestOutcome =
  | { kind: "answered" }
  | { kind: "failed"; what: string; accountId: string }
  | { kind: "none" };

/** Whether a request may go now: yes, as the probe, not before `untilMs`, or never (given up). */
export type Admission =
  | { kind: "go" }
  | { kind: "probe" }
  | { kind: "wait"; untilMs: number }
  | { kind: "give_up" };

/** What changed, for the one log line each: an outage opened, or Plugchat answered again. */
export type OutageEvent =
  | { kind: "opened"; failuresInARow: number; lastFailure: string }
  | { kind: "recovered"; downMs: number; probes: number; failures: number };

interface OpenOutage {
  sinceMs: number;
  nextProbeMs: number;
  probing: boolean;
  probes: number;
  /** Failed requests since it opened (probes and late answers of requests sent before). */
  failures: number;
}

export class OutageDetector {
  #failuresInARow = 0;
  /** The accounts of those failures: only failures of `after` different accounts open an outage. */
  readonly #failingAccounts = new Set<string>();
  #lastFailure = "";
  #open: OpenOutage | null = null;
  #gaveUp: { downMs: number; failures: number } | null = null;

  /**
   * `accountsAtOnce`: the requests in flight at once (the concurrency). An outage opens after `after`
   * failed requests in a row, of at least that many different accounts (or `after`, if fewer): the
   * whole first wave failing is an outage, a few accounts that fail every attempt are not.
   */
  constructor(
    readonly settings: OutageSettings,
    private readonly accountsAtOnce = Number.POSITIVE_INFINITY,
  ) {
    if (!(Number.isInteger(settings.after) && settings.after >= 1)) {
      throw new RangeError(`after must be a whole number of at least 1, got ${settings.after}`);
    }
  }

  get state(): "closed" | "open" | "gave_up" {
    if (this.#gaveUp) return "gave_up";
    return this.#open ? "open" : "closed";
  }

  admit(nowMs: number): Admission {
    if (this.#gaveUp) return { kind: "give_up" };
    const open = this.#open;
    if (!open) return { kind: "go" };
    const giveUpAtMs = open.sinceMs + this.settings.giveUpMs;
    if (nowMs >= giveUpAtMs) {
      this.#gaveUp = { downMs: nowMs - open.sinceMs, failures: this.#failuresInARow + open.failures };
      this.#open = null;
      return { kind: "give_up" };
    }
    if (!open.probing && nowMs >= open.nextProbeMs) {
      open.probing = true;
      open.probes += 1;
      return { kind: "probe" };
    }
    return { kind: "wait", untilMs: open.probing ? giveUpAtMs : Math.min(open.nextProbeMs, giveUpAtMs) };
  }

  /** One request's outcome; `probe` when it was the one `admit` made the probe. */
  record(outcome: RequestOutcome, nowMs: number, probe: boolean): OutageEvent | null {
    const open = this.#open;
    if (probe && open) open.probing = false;
    if (this.#gaveUp || outcome.kind === "none") return null;
    if (outcome.kind === "answered") {
      this.#failuresInARow = 0;
      this.#failingAccounts.clear();
      if (!open) return null;
      this.#open = null;
      return {
        kind: "recovered",
        downMs: nowMs - open.sinceMs,
        probes: open.probes,
        failures: open.failures,
      };
    }
    this.#lastFailure = outcome.what;
    if (open) {
      open.failures += 1;
      if (probe) open.nextProbeMs = nowMs + this.settings.probeEveryMs;
      return null;
    }
    this.#failuresInARow += 1;
    this.#failingAccounts.add(outcome.accountId);
    const accountsNeeded = Math.min(this.settings.after, this.accountsAtOnce);
    if (this.#failuresInARow < this.settings.after || this.#failingAccounts.size < accountsNeeded)
      return null;
    this.#failingAccounts.clear();
    this.#open = {
      sinceMs: nowMs,
      nextProbeMs: nowMs + this.settings.probeEveryMs,
      probing: false,
      probes: 0,
      failures: 0,
    };
    return { kind: "opened", failuresInARow: this.#failuresInARow, lastFailure: outcome.what };
  }

  /** A probe that ended without an outcome (aborted, or refused before it was sent): another may go. */
  probeDropped(): void {
    if (this.#open) this.#open.probing = false;
  }

  /** Why the run stopped, once given up: "Plugchat unreachable", with what was seen. */
  giveUpReason(): string | null {
    if (!this.#gaveUp) return null;
    const seconds = Math.round(this.#gaveUp.downMs / 1000);
    return `Plugchat unreachable: ${this.#gaveUp.failures} requests failed in a row (last: ${this.#lastFailure}) and no probe got an answer for ${seconds} s; the run stopped, the accounts not tried keep their last values (is Plugchat up, and PLUGCHAT_BASE_URL right?)`;
  }
}

/**
 * What one HTTP attempt says about Plugchat. No answer (refused, reset, timed out) and 5xx are what an
 * outage looks like; any other answer, 404, 401/403 and 429 included, is Plugchat answering (429 is
 * waited for as its Retry-After asks). An attempt we aborted ourselves says nothing.
 */
export function outcomeOfAttempt(attempt: {
  accountId: string;
  status: number | null;
  code: string | null;
}): RequestOutcome {
  const { accountId } = attempt;
  if (attempt.code === "ABORTED") return { kind: "none" };
  if (attempt.code !== null) return { kind: "failed", what: attempt.code, accountId };
  if (attempt.status !== null && attempt.status >= 500)
    return { kind: "failed", what: `HTTP ${attempt.status}`, accountId };
  return { kind: "answered" };
}
