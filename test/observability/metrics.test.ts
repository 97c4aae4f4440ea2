import { register as globalRegistry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startHealthServer } from "../../src/observability/http-server.js";
import { createMetrics, type Metrics } from "../../src/observability/metrics.js";
import type { AttemptInfo } from "../../src/plugchat/index.js";
import type { RunSummary } from "../../src/sync/types.js";
import { captureLogs } from "../helpers/logs.js";

const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Scrapes /metrics over real HTTP, as Prometheus does. */
async function scrape(
  metrics: Metrics,
): Promise<{ status: number; contentType: string | null; text: string }> {
  const server = await startHealthServer({
    port: 0,
    host: "127.0.0.1",
    metrics,
    checks: { postgres: async () => {}, redis: async () => {} },
    logger: captureLogs().logger,
  });
  closers.push(server.close);
  const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    text: await response.text(),
  };
}

function summary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 7,
    trigger: "schedule",
    status: "partial",
    startedAt: new Date("2026-01-05T10:00:00Z"),
    finishedAt: new Date("2026-01-05T10:01:30Z"),
    error: null,
    unknownFields: [],
    extraCutFields: [],
    accountsTotal: 10,
    accountsChanged: 3,
    accountsUnchanged: 5,
    accountsFailed: 1,
    accountsNotFound: 1,
    driftCount: 4,
    accountSource: null,
    mismatches: { open: 0, opened: 0, resolved: 0 },
    ...overrides,
  };
}

function attempt(overrides: Partial<AttemptInfo>): AttemptInfo {
  return { accountId: "acc-00001", attempt: 1, status: 200, code: null, durationMs: 120, ...overrides };
}

describe("createMetrics", () => {
  it("serves every series in Prometheus text format after observations", async () => {
    const metrics = createMetrics();
    metrics.observeRun(summary());
    metrics.observeBatch(summary(), ["name", "name", "active", "exists"]);
    metrics.onAttempt(attempt({ status: 503, durationMs: 40 }));
    metrics.onAttempt(attempt({ attempt: 2, status: 200, durationMs: 60 }));
    metrics.onAttempt(attempt({ attempt: 3, status: null, code: "ECONNRESET", durationMs: 5 }));
    metrics.skippedRunStart();
    metrics.abandonedRun({ trigger: "cli" });
    metrics.setQueueDepthSource(async () => ({ waiting: 3, active: 1, delayed: 0, failed: 2 }));

    const { status, contentType, text } = await scrape(metrics);

    expect(status).toBe(200);
    expect(contentType).toBe(metrics.registry.contentType);
    const lines = text.split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        'plugchat_sync_runs_total{status="partial"} 1',
        'plugchat_sync_runs_total{status="succeeded"} 0',
        "plugchat_sync_run_duration_seconds_sum 90",
        "plugchat_sync_run_duration_seconds_count 1",
        'plugchat_sync_accounts_total{outcome="changed"} 3',
        'plugchat_sync_accounts_total{outcome="unchanged"} 5',
        'plugchat_sync_accounts_total{outcome="failed"} 1',
        'plugchat_sync_accounts_total{outcome="not_found"} 1',
        'plugchat_sync_drift_events_total{field="name"} 2',
        'plugchat_sync_drift_events_total{field="active"} 1',
        'plugchat_sync_drift_events_total{field="exists"} 1',
        'plugchat_sync_plugchat_request_duration_seconds_count{status="503"} 1',
        'plugchat_sync_plugchat_request_duration_seconds_count{status="200"} 1',
        'plugchat_sync_plugchat_request_duration_seconds_count{status="ECONNRESET"} 1',
        'plugchat_sync_plugchat_request_duration_seconds_sum{status="200"} 0.06',
        'plugchat_sync_plugchat_retries_total{status="200"} 1',
        'plugchat_sync_plugchat_retries_total{status="ECONNRESET"} 1',
        'plugchat_sync_queue_jobs{state="waiting"} 3',
        'plugchat_sync_queue_jobs{state="active"} 1',
        'plugchat_sync_queue_jobs{state="delayed"} 0',
        'plugchat_sync_queue_jobs{state="failed"} 2',
        "plugchat_sync_skipped_fires_total 1",
        'plugchat_sync_runs_abandoned_total{trigger="cli"} 1',
        'plugchat_sync_runs_abandoned_total{trigger="schedule"} 0',
      ]),
    );
    // The first attempt is not a retry.
    expect(text).not.toContain('plugchat_sync_plugchat_retries_total{status="503"}');
    // Default process metrics are there too.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_total_bytes \d/m);
  });

  it("counts what the account source did at the start of each run", async () => {
    const metrics = createMetrics();
    const source = {
      ids: 10,
      added: 3,
      retracked: 1,
      removed: 2,
      invalid: 4,
      invalidExamples: [],
      error: null,
    };
    metrics.observeRun(summary({ accountSource: { ...source, outcome: "applied" } }));
    metrics.observeRun(
      summary({ accountSource: { ...source, outcome: "refused", added: 0, retracked: 0, removed: 0 } }),
    );
    metrics.observeRun(summary());
    const { text } = await scrape(metrics);
    expect(text.split("\n")).toEqual(
      expect.arrayContaining([
        'plugchat_sync_account_source_total{outcome="applied"} 1',
        'plugchat_sync_account_source_total{outcome="refused"} 1',
        'plugchat_sync_account_source_total{outcome="skipped"} 0',
        'plugchat_sync_account_source_ids_total{change="added"} 3',
        'plugchat_sync_account_source_ids_total{change="retracked"} 1',
        'plugchat_sync_account_source_ids_total{change="removed"} 2',
        'plugchat_sync_account_source_ids_total{change="invalid"} 8',
      ]),
    );
  });

  it("adds drift counted by field", async () => {
    const metrics = createMetrics();
    metrics.observeDrift({ onReceiveMessage: 4, name: 1, active: 0 });
    const { text } = await scrape(metrics);
    expect(text).toContain('plugchat_sync_drift_events_total{field="onReceiveMessage"} 4');
    expect(text).toContain('plugchat_sync_drift_events_total{field="name"} 1');
    expect(text).not.toContain('plugchat_sync_drift_events_total{field="active"}');
  });

  it("keeps label values to bounded sets: never account ids, odd values become other", async () => {
    const metrics = createMetrics();
    metrics.onAttempt(attempt({ accountId: "acc-secret-42", status: 999 }));
    metrics.onAttempt(
      attempt({ accountId: "acc-secret-43", status: null, code: "getaddrinfo failed for acc-secret-43" }),
    );
    metrics.observeBatch(summary(), ["acc-secret-44"]);
    metrics.observeDrift({ "acc-secret-45": 2 });
    const { text } = await scrape(metrics);
    expect(text).not.toContain("acc-secret");
    expect(text).toContain('plugchat_sync_plugchat_request_duration_seconds_count{status="other"} 2');
    expect(text).toContain('plugchat_sync_drift_events_total{field="other"} 3');
  });

  it("scrapes without queue depths when their source fails or hangs", async () => {
    const logs = captureLogs();
    const failing = createMetrics({ logger: logs.logger });
    failing.setQueueDepthSource(async () => {
      throw new Error("Redis is down");
    });
    const hanging = createMetrics({ queueDepthTimeoutMs: 100 });
    hanging.setQueueDepthSource(() => new Promise(() => {}));

    for (const metrics of [failing, hanging]) {
      const { status, text } = await scrape(metrics);
      expect(status).toBe(200);
      expect(text).toContain("# TYPE plugchat_sync_queue_jobs gauge");
      expect(text).not.toMatch(/^plugchat_sync_queue_jobs\{/m);
      expect(text).toContain('plugchat_sync_runs_total{status="succeeded"} 0');
    }
    expect(logs.withMessage("queue depth unavailable for metrics")).toHaveLength(1);
  });

  it("shows the current queue depths at each scrape, not the last ones seen", async () => {
    const metrics = createMetrics();
    let depths: Record<string, number> = { waiting: 5 };
    metrics.setQueueDepthSource(async () => depths);
    expect((await scrape(metrics)).text).toContain('plugchat_sync_queue_jobs{state="waiting"} 5');
    depths = { active: 1 };
    const { text } = await scrape(metrics);
    expect(text).toContain('plugchat_sync_queue_jobs{state="active"} 1');
    expect(text).not.toContain('plugchat_sync_queue_jobs{state="waiting"}');
  });

  it("uses a registry of its own, so two instances coexist and the global one stays empty", async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.skippedRunStart();
    expect(globalRegistry.getSingleMetric("plugchat_sync_skipped_fires_total")).toBeUndefined();
    expect((await scrape(second)).text).toContain("plugchat_sync_skipped_fires_total 0");
    expect((await scrape(first)).text).toContain("plugchat_sync_skipped_fires_total 1");
  });
});
