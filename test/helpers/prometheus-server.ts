// A real Prometheus server (Debian's `prometheus` package, which brings promtool too; `.ci/run`
// installs it) on a free loopback port, with a config and storage of its own in a temporary
// directory, scraping given targets every second. Without it the tests that need it are reported as
// skipped, naming what is missing; under CI=true they run anyway and fail, as with promtool.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.js";
import { installedProgram } from "./promtool.js";

const PROMETHEUS = installedProgram("prometheus");

/** Whether the tests that need a Prometheus server run: when it is installed, and always under CI. */
export const runPrometheusTests = PROMETHEUS !== null || process.env.CI === "true";

/** The suffix of a describe that needs Prometheus, saying why it is skipped when it is. */
export const prometheusNote = runPrometheusTests
  ? ""
  : " (skipped: prometheus is not installed: apt-get install prometheus)";

/** An answer of Prometheus's HTTP API (`/api/v1/...`), whatever its HTTP status. */
export interface ApiAnswer<T = unknown> {
  status: "success" | "error";
  data?: T;
  errorType?: string;
  error?: string;
}

export interface QueryResult {
  resultType: "vector" | "matrix" | "scalar" | "string";
  result: unknown;
}

export interface PrometheusServer {
  /** GET `/api/v1/<path>` with `params` (a repeated parameter as an array). */
  api<T>(path: string, params?: Record<string, string | string[]>): Promise<ApiAnswer<T>>;
  /** An instant query now (`/api/v1/query`). */
  query(expr: string): Promise<ApiAnswer<QueryResult>>;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface PrometheusSetup {
  /** The scrape job's name (the `job` label). */
  job: string;
  /** host:port of each target, scraped every second on /metrics. */
  targets: readonly string[];
  /** Rule files to load (paths from the project root), evaluated every second. */
  ruleFiles?: readonly string[];
}

/** Starts Prometheus and resolves once it is ready (`/-/ready`); fails with its output when it exits. */
export async function startPrometheus(setup: PrometheusSetup): Promise<PrometheusServer> {
  if (PROMETHEUS === null) {
    throw new Error("prometheus is missing: CI runs every test (apt-get install prometheus)");
  }
  const dir = await mkdtemp(join(tmpdir(), "plugchat-sync-prometheus-"));
  const config = join(dir, "prometheus.yml");
  await writeFile(config, prometheusConfig(setup));
  const port = await freePort();
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
  }
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const server = prometheusServer(`http://127.0.0.1:${port}`, child, exited, dir);
  try {
    await waitUntilReady(`http://127.0.0.1:${port}`, child, () => output);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** JSON is YAML: the config needs no YAML library. */
function prometheusConfig(setup: PrometheusSetup): string {
  return JSON.stringify({
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: (setup.ruleFiles ?? []).map((file) => resolve(file)),
    scrape_configs: [{ job_name: setup.job, static_configs: [{ targets: setup.targets }] }],
  });
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}): ${output().trim()}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s: ${output().trim()}`);
    await sleep(100);
  }
}

function prometheusServer(url: string, child: ChildProcess, exited: Promise<void>, dir: string) {
  async function api<T>(path: string, params: Record<string, string | string[]> = {}) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      for (const one of Array.isArray(value) ? value : [value]) search.append(name, one);
    }
    // Errors (a bad query: 400, 422) come as JSON too.
    const answer = await fetch(`${url}/api/v1/${path}?${search}`);
    return (await answer.json()) as ApiAnswer<T>;
  }
  return {
    api,
    query: (expr: string) => api<QueryResult>("query", { query: expr }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  } satisfies PrometheusServer;
}
