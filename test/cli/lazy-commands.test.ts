// Each command loads its own code, not everyone's: `--help` loads no command and no driver, and a
// query command (`report`, `accounts list`, `mismatches`) loads neither Prisma, BullMQ, Redis, MySQL nor the
// simulator. Proven by recording every file a real CLI process resolves (a module.register hook),
// not by timing: the bundle's chunks, each read as the modules it holds (dist/cli/chunks/modules.json,
// written by scripts/bundle.mjs), and the packages left outside it. Such a command reads through one
// plain pg connection (src/db/plain-connection.ts).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Help } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/command-list.js";
import { CLI, inheritedEnv } from "../helpers/cli.js";
import { createMigratedTestDatabase } from "../helpers/databases.js";
import { migratedQueueDatabase } from "../queue/backends.js";
import { waitFor } from "../queue/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "plugchat-lazy-"));
const hooks = join(dir, "record.mjs");
writeFileSync(
  hooks,
  `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.RECORD_MODULES_TO, resolved.url + "\\n");
  return resolved;
}
`,
);
const preload = join(dir, "register.mjs");
writeFileSync(
  preload,
  `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BUNDLE = resolve("dist/cli");
const chunkModules = JSON.parse(readFileSync(join(BUNDLE, "chunks", "modules.json"), "utf8")) as Record<
  string,
  string[]
>;

/** Resolved URLs as modules: a chunk of the bundle as the modules it holds, as absolute paths. */
function modulesOf(urls: string[]): string[] {
  return urls.flatMap((url) => {
    if (!url.startsWith("file:")) return [url];
    const path = fileURLToPath(url);
    const held = chunkModules[relative(BUNDLE, path)];
    return held === undefined ? [path] : held.map((id) => resolve(id));
  });
}

/** What a process recorded into `record`, as modules. */
const recordedModules = (record: string) =>
  modulesOf(readFileSync(record, "utf8").split("\n").filter(Boolean));

/** The modules `plugchat-sync <args>` loaded. */
function modulesLoadedBy(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; modules: string[] } {
  const record = join(dir, `modules-${args.join("-")}.txt`);
  writeFileSync(record, "");
  const exit = spawnSync(process.execPath, ["--import", preload, CLI, ...args], {
    env: inheritedEnv({ ...env, RECORD_MODULES_TO: record }),
    encoding: "utf8",
  });
  return {
    code: exit.status,
    stdout: exit.stdout,
    modules: recordedModules(record),
  };
}

/** The modules of package `name` (or of every package of a scope, "@opentelemetry"). */
const packageOf = (modules: string[], name: string) =>
  modules.filter((module) => module.includes(`/node_modules/${name}/`));

describe("commands load what they use", () => {
  it("--help loads no command's code, no driver, no Prisma, no zod and no pino", () => {
    const { code, stdout, modules } = modulesLoadedBy(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}sync \[options\] +run one sync now/m);
    expect(stdout).toMatch(/^ {2}help \[command\] +display help for command$/m);
    for (const heavy of [
      "bullmq",
      "ioredis",
      "mysql2",
      "pg",
      "@prisma/client",
      "zod",
      "pino",
      "prom-client",
    ]) {
      expect(packageOf(modules, heavy), heavy).toEqual([]);
    }
    expect(
      modules.filter((url) =>
        /\/build\/(cli\/commands|simulator|status|queue|sync|db\/(embedded|migrations|sql|prisma|open-database))/.test(
          url,
        ),
      ),
    ).toEqual([]);
  });

  it.each([
    { command: ["report", "--drift"], says: /^No sync runs yet.*\n\nDrift since /s },
    { command: ["accounts", "list"], says: /^no tracked accounts\n$/ },
    { command: ["mismatches"], says: /^no mismatches with your records\n$/ },
  ])(
    "$command.0 reads through one plain pg connection: no Prisma, BullMQ, Redis, MySQL, simulator, status page or embedded server",
    async ({ command, says }) => {
      const database = await createMigratedTestDatabase();
      try {
        const { code, stdout, modules } = modulesLoadedBy(command, { DATABASE_URL: database.url });
        expect(code).toBe(0);
        expect(stdout).toMatch(says);
        expect(packageOf(modules, "pg").length).toBeGreaterThan(0);
        for (const unused of [
          "@prisma/client",
          "@prisma/adapter-pg",
          "bullmq",
          "ioredis",
          "mysql2",
          "pino-pretty",
        ])
          expect(packageOf(modules, unused), unused).toEqual([]);
        expect(
          modules.filter((url) =>
            /\/build\/(simulator|status|queue|plugchat\/client|db\/embedded|generated)\//.test(url),
          ),
        ).toEqual([]);
      } finally {
        await database.drop();
      }
    },
  );

  it("traces: --help and report load no OpenTelemetry even with an OTLP endpoint set; sync loads its SDK only with one", async () => {
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/", OTEL_BSP_SCHEDULE_DELAY: "10" };
    const help = modulesLoadedBy(["--help"], traced);
    expect(help.code).toBe(0);
    expect(packageOf(help.modules, "@opentelemetry")).toEqual([]);
    const database = await createMigratedTestDatabase();
    try {
      const report = modulesLoadedBy(["report"], { DATABASE_URL: database.url, ...traced });
      expect(report.code).toBe(0);
      expect(packageOf(report.modules, "@opentelemetry")).toEqual([]);
      // A sync of no accounts: no request is made, so any Plugchat URL does.
      const sync = {
        DATABASE_URL: database.url,
        PLUGCHAT_BASE_URL: "http://127.0.0.1:9",
        PLUGCHAT_TOKEN: "t",
      };
      const untraced = modulesLoadedBy(["sync"], sync);
      expect(untraced.code).toBe(0);
      expect(packageOf(untraced.modules, "@opentelemetry")).toEqual([]);
      expect(packageOf(untraced.modules, "bullmq-otel")).toEqual([]);
      const tracedSync = modulesLoadedBy(["sync"], { ...sync, ...traced });
      expect(tracedSync.code).toBe(0);
      expect(packageOf(tracedSync.modules, "@opentelemetry").length).toBeGreaterThan(0);
    } finally {
      await database.drop();
    }
  });

  it("traces: an untraced worker loads no OpenTelemetry SDK, exporter or bullmq-otel", async () => {
    const { database, queues } = await migratedQueueDatabase("postgres");
    const record = join(dir, "modules-worker.txt");
    writeFileSync(record, "");
    const worker = spawn(process.execPath, ["--import", preload, CLI, "worker"], {
      env: inheritedEnv({
        DATABASE_URL: database.url,
        REDIS_URL: "",
        QUEUE_BACKEND: "",
        QUEUE_PREFIX: queues.prefix,
        PLUGCHAT_BASE_URL: "http://127.0.0.1:9",
        PLUGCHAT_TOKEN: "t",
        SYNC_CRON: "off",
        METRICS_PORT: "0",
        RECORD_MODULES_TO: record,
      }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      let stderr = "";
      worker.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      await waitFor("worker ready", () => stderr.includes('"worker ready"'), 20_000);
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.kill("SIGTERM");
      await exited;
      const modules = recordedModules(record);
      // prom-client requires @opentelemetry/api: that one is allowed.
      expect(packageOf(modules, "bullmq").length).toBeGreaterThan(0);
      expect(
        packageOf(modules, "@opentelemetry").filter(
          (url) => !url.includes("/node_modules/@opentelemetry/api/"),
        ),
      ).toEqual([]);
      expect(packageOf(modules, "bullmq-otel")).toEqual([]);
    } finally {
      worker.kill("SIGKILL");
      await database.drop();
    }
  });

  it("lists every command with the same term and description as its own help", async () => {
    const help = new Help();
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const command = await entry.load();
      expect(command.name()).toBe(name);
      expect(help.subcommandTerm(command), name).toBe(entry.term);
      expect(command.description(), name).toBe(entry.description);
    }
  });
});
