// ops/grafana/plugchat-sync.json and ops/prometheus/alerts.yml against a real Prometheus server that
// scraped a real worker process (the built CLI) through two runs with drift, failed and missing
// accounts and retried requests: every query of the dashboard, every variable and every alert
// expression must evaluate without error and return series. The queries' misspelt copies must return
// none, which shows that "no series" would catch a wrong metric or label name.
//
// One queue backend (PostgreSQL, no Redis needed): the series are the same on both, and
// test/observability/worker-metrics.test.ts scrapes workers on each.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "../../src/db/prisma.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { START_RUN_JOB } from "../../src/queue/jobs.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import type { CliProcess } from "../helpers/cli.js";
import { createMigratedTestDatabase, type TestDatabase } from "../helpers/databases.js";
import {
  type PrometheusServer,
  prometheusNote,
  runPrometheusTests,
  startPrometheus,
} from "../helpers/prometheus-server.js";
import { alertProbe, misspellings, withGrafanaVariables } from "../helpers/promql.js";
import { deleteQueueData, prepareQueues, testQueueSettings } from "../queue/backends.js";
import { inspectQueues, type QueueInspection, spawnCli, uniquePrefix, waitFor } from "../queue/helpers.js";

const DASHBOARD = "ops/grafana/plugchat-sync.json";
const RULES = "ops/prometheus/alerts.yml";
/** The job name alerts.yml expects (`up{job="plugchat-sync"}`). */
const JOB = "plugchat-sync";
const TOKEN = "dashboard-token";
/** Grafana's reference to the dashboard's datasource variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's syntax, not a template literal
const DATASOURCE = "${datasource}";

interface Target {
  datasource?: { uid: string };
  expr: string;
  refId: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
}
interface LoadedRule {
  name: string;
  query: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;

/** Every panel of the dashboard, those inside collapsed rows included, but the rows. */
function dashboardPanels(panels = dashboard.panels): Panel[] {
  return panels.flatMap((panel) => (panel.type === "row" ? dashboardPanels(panel.panels ?? []) : [panel]));
}

/** Each target of each panel, by "panel title / refId", its variables as Grafana would fill them. */
function dashboardQueries(): { name: string; expr: string }[] {
  // The choices of a Grafana user looking at every worker of the job; the intervals Grafana computes
  // for a 15 s scrape interval (1s here: a minute's window holds the whole test).
  const values = {
    job: JOB,
    instance: ".*",
    __rate_interval: "1m",
    __interval: "15s",
    __range: "1h",
  };
  return dashboardPanels().flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      name: `${panel.title} / ${target.refId}`,
      expr: withGrafanaVariables(target.expr, values),
    })),
  );
}

/** The query of a `label_values(selector, label)` variable, as selector and label. */
function variableQuery(variable: Variable): { selector: string; label: string } {
  const text = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
  const parsed = /^label_values\((.+),\s*(\w+)\)$/.exec(text);
  if (!parsed) throw new Error(`variable ${variable.name}: not label_values(selector, label): ${text}`);
  return { selector: withGrafanaVariables(parsed[1] as string, { job: JOB }), label: parsed[2] as string };
}

describe("the dashboard's file", () => {
  it("is importable: every panel on the datasource variable, variables job and instance", () => {
    const variables = dashboard.templating.list;
    expect(variables.map((variable) => variable.name)).toEqual(["datasource", "job", "instance"]);
    expect(variables[0]).toMatchObject({ type: "datasource", query: "prometheus" });
    const panels = dashboardPanels();
    expect(panels.length).toBeGreaterThan(15);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel, panel.title).toMatchObject({ datasource: { uid: DATASOURCE } });
      for (const target of panel.targets ?? []) {
        expect(target, panel.title).toMatchObject({ datasource: { uid: DATASOURCE } });
      }
    }
  });

  it("shows every plugchat_sync_* metric the worker serves", async () => {
    const text = await createMetrics().registry.metrics();
    const served = [...text.matchAll(/^# TYPE (plugchat_sync_\w+) /gm)].map(([, name]) => name as string);
    const queries = dashboardQueries().map((query) => query.expr);
    expect(served.length).toBeGreaterThan(15);
    for (const name of served) {
      expect(
        queries.some((expr) => new RegExp(`\\b${name}(?:_bucket|_sum|_count)?\\b`).test(expr)),
        name,
      ).toBe(true);
    }
  });
});

describe("PromQL rewriting for the checks", () => {
  it("makes every comparison of an alert a bool one, drops absent() and offsets", () => {
    expect(alertProbe("time() - a > 2700")).toBe("time() - a > bool 2700");
    expect(alertProbe('a{s!="x", t=~"y"} / ignoring(s) b >= 0.05')).toBe(
      'a{s!="x", t=~"y"} / ignoring(s) b >= bool 0.05',
    );
    expect(alertProbe('absent(up{job="j"} == 1)')).toBe('(up{job="j"} == bool 1)');
    expect(alertProbe("a > a offset 1h and b < bool 1")).toBe("a > bool a and b < bool 1");
  });

  it("misspells each metric name and each exact label value", () => {
    expect(misspellings('sum(rate(plugchat_sync_x_total{job="j", s=~"a"}[1m])) / up{job="j"}')).toEqual([
      {
        what: "metric plugchat_sync_x_total",
        expr: 'sum(rate(plugchat_sync_x_total_misspelt{job="j", s=~"a"}[1m])) / up{job="j"}',
      },
      {
        what: "metric up",
        expr: 'sum(rate(plugchat_sync_x_total{job="j", s=~"a"}[1m])) / up_misspelt{job="j"}',
      },
      {
        what: 'label job="j"',
        expr: 'sum(rate(plugchat_sync_x_total{job="j_misspelt", s=~"a"}[1m])) / up{job="j_misspelt"}',
      },
    ]);
  });
});

describe.runIf(runPrometheusTests)(
  `the dashboard and the alert rules on a real Prometheus${prometheusNote}`,
  () => {
    let simulator: Simulator;
    let database: TestDatabase;
    let prisma: PrismaClient;
    let queues: ReturnType<typeof testQueueSettings>;
    let inspection: QueueInspection;
    let worker: CliProcess | undefined;
    let prometheus: PrometheusServer | undefined;

    async function closedRuns(count: number) {
      return waitFor(
        `${count} run(s) closed`,
        async () => {
          const runs = await prisma.syncRun.findMany({ where: { status: { not: "running" } } });
          return runs.length >= count && runs;
        },
        30_000,
      );
    }

    /** The result of `expr` now, or why it has none: the error, or "no series". */
    async function evaluate(expr: string): Promise<{ series: number; problem: string | null }> {
      const answer = await (prometheus as PrometheusServer).query(expr);
      if (answer.status !== "success" || !answer.data) {
        return { series: 0, problem: `${answer.errorType}: ${answer.error}` };
      }
      const { resultType, result } = answer.data;
      const series = resultType === "scalar" || resultType === "string" ? 1 : (result as unknown[]).length;
      return { series, problem: series === 0 ? "no series" : null };
    }

    /** What is wrong with each of `queries` now: an error, or no series. */
    async function problemsOf(queries: readonly { name: string; expr: string }[]): Promise<string[]> {
      const problems: string[] = [];
      for (const { name, expr } of queries) {
        const { problem } = await evaluate(expr);
        if (problem) problems.push(`${name}: ${problem}: ${expr}`);
      }
      return problems;
    }

    /**
     * The problems of `queries` once there are none, or after 15 s: a series new in the second run
     * (drift, retries) needs a second sample, a scrape later, before rate() gives it a value.
     */
    async function lastProblems(queries: readonly { name: string; expr: string }[]): Promise<string[]> {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const problems = await problemsOf(queries);
        if (problems.length === 0 || Date.now() > deadline) return problems;
        await sleep(1_000);
      }
    }

    /** The alert rules as Prometheus loaded them from alerts.yml, once it has evaluated them all. */
    async function loadedRules(): Promise<LoadedRule[]> {
      return waitFor(
        "every rule evaluated",
        async () => {
          const answer = await (prometheus as PrometheusServer).api<{ groups: { rules: LoadedRule[] }[] }>(
            "rules",
          );
          const rules = answer.data?.groups.flatMap((group) => group.rules) ?? [];
          return rules.every((rule) => !rule.lastEvaluation.startsWith("0001-")) && rules;
        },
        10_000,
        250,
      );
    }

    beforeAll(async () => {
      simulator = await startSimulator({ token: TOKEN, accounts: 6 });
      database = await createMigratedTestDatabase();
      prisma = createPrismaClient(database.url);
      await prisma.account.createMany({ data: simulator.listIds().map((id) => ({ id })) });
      queues = testQueueSettings("postgres", database.url, uniquePrefix());
      await prepareQueues(queues);
      inspection = inspectQueues(queues);
      worker = spawnCli(["worker"], {
        DATABASE_URL: database.url,
        REDIS_URL: "",
        QUEUE_BACKEND: "",
        QUEUE_PREFIX: queues.prefix,
        PLUGCHAT_BASE_URL: simulator.url,
        PLUGCHAT_TOKEN: TOKEN,
        SYNC_CRON: "off",
        SYNC_BATCH_SIZE: "2",
        // One retry per request at most, so that the failing account does not hold the run long.
        SYNC_MAX_ATTEMPTS: "2",
        METRICS_PORT: "0",
      });
      const started = worker;
      const port = await waitFor(
        "the worker's metrics port",
        () => started.logs().find((line) => line.msg === "health and metrics endpoint listening")?.port,
        20_000,
      );
      await waitFor(
        "the worker ready",
        () => started.logs().some((line) => line.msg === "worker ready"),
        20_000,
      );
      prometheus = await startPrometheus({ job: JOB, targets: [`127.0.0.1:${port}`], ruleFiles: [RULES] });

      // A first run: the baseline (no drift yet). Then a second with drift (a renamed account, a
      // deleted one: `exists`), an account failing every attempt, and one answering 503 once (a retry).
      await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
      await closedRuns(1);
      const [renamed, deleted, failing, flaky] = simulator.listIds() as [string, string, string, string];
      simulator.setAccount(renamed, { name: "renamed for the dashboard" });
      simulator.deleteAccount(deleted);
      simulator.setFault({ type: "status", status: 500 }, { accountId: failing });
      simulator.setFault({ type: "status", status: 503 }, { accountId: flaky, times: 1 });
      await inspection.runsQueue.add(START_RUN_JOB, { trigger: "manual" });
      const runs = await closedRuns(2);
      expect(runs.map((run) => run.status).sort()).toEqual(["partial", "succeeded"]);
      // The deployment gauges are read at most every 5 s: once Prometheus shows the second run there,
      // it has scraped the worker after the run.
      await waitFor(
        "Prometheus to show the second run",
        async () => (await evaluate('plugchat_sync_recorded_runs{status="partial"} == 1')).series > 0,
        30_000,
        250,
      );
    }, 120_000);

    afterAll(async () => {
      // Each step whatever happened to the others: no server or process left behind.
      await Promise.allSettled([
        prometheus?.stop(),
        (async () => {
          if (worker && worker.child.exitCode === null && worker.child.signalCode === null) {
            worker.child.kill("SIGTERM");
          }
          await worker?.exited;
        })(),
      ]);
      await inspection?.close();
      await deleteQueueData(queues);
      await prisma?.$disconnect();
      await database?.drop();
      await simulator?.close();
    });

    it("returns series for every query of the dashboard", async () => {
      expect(await lastProblems(dashboardQueries())).toEqual([]);
    });

    it("finds values for every variable of the dashboard (label_values)", async () => {
      for (const variable of dashboard.templating.list.filter((one) => one.type === "query")) {
        const { selector, label } = variableQuery(variable);
        const answer = await (prometheus as PrometheusServer).api<string[]>(`label/${label}/values`, {
          "match[]": selector,
        });
        expect(answer.status, variable.name).toBe("success");
        expect(answer.data?.length, variable.name).toBeGreaterThan(0);
      }
    });

    it("loads every alert rule of alerts.yml, each evaluated without error", async () => {
      const rules = await loadedRules();
      expect(rules.map((rule) => rule.name)).toEqual(alertNames());
      for (const rule of rules)
        expect({ rule: rule.name, health: rule.health, error: rule.lastError }).toEqual({
          rule: rule.name,
          health: "ok",
          error: undefined,
        });
    });

    it("returns series for every alert expression, rewritten to return them when not firing", async () => {
      const rules = await loadedRules();
      // As written, an alert that does not fire has no series (that is what firing means), so only an
      // error counts; its probe (see alertProbe) keeps every series the expression compares.
      for (const rule of rules) {
        const { problem } = await evaluate(rule.query);
        expect([rule.name, problem === "no series" ? null : problem]).toEqual([rule.name, null]);
      }
      const probes = rules.map((rule) => ({ name: rule.name, expr: alertProbe(rule.query) }));
      expect(await lastProblems(probes)).toEqual([]);
    });

    it("returns no series for a misspelt metric or label value in any query or alert probe", async () => {
      const rules = await loadedRules();
      const queries = [
        ...dashboardQueries(),
        ...rules.map((rule) => ({ name: rule.name, expr: alertProbe(rule.query) })),
      ];
      const unnoticed: string[] = [];
      for (const { name, expr } of queries) {
        expect(misspellings(expr).length, name).toBeGreaterThan(0);
        for (const misspelt of misspellings(expr)) {
          const { series, problem } = await evaluate(misspelt.expr);
          if (series > 0 || problem !== "no series")
            unnoticed.push(`${name}, ${misspelt.what}: ${misspelt.expr}`);
        }
      }
      expect(unnoticed).toEqual([]);
    });
  },
);

function alertNames(): string[] {
  return [...readFileSync(RULES, "utf8").matchAll(/- alert: (\S+)/g)].map(([, name]) => name as string);
}
