// The built CLI as a real process, as a user runs it: exit code, stdout and stderr. The build is checked
// against src/ before any test starts (fresh-build.ts): `npm test` builds first, or run `npm run build`.
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

export const CLI = resolve("dist/cli/main.js");

export interface CliExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** JSON log lines on stderr, parsed (other lines skipped). */
  logs(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** This process's environment with `env` on top, and log lines as JSON (what the tests parse). */
export function inheritedEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LOG_PRETTY: "false", ...env };
}

/**
 * Starts `plugchat-sync <args>` with exactly `env`. Its stdin is `stdin` when given, else nothing
 * (not even an empty pipe).
 */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv, stdin?: string): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env,
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.end(stdin);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once("exit", (code, signal) => resolveExit({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, logs: () => jsonLines(stderr), exited };
}

/** Runs `plugchat-sync <args>` with exactly `env`, feeding it `stdin`; resolves whatever the exit code. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<CliExit> {
  const started = spawnCli(args, env, stdin);
  return new Promise((resolveExit, reject) => {
    started.child.once("error", reject);
    // "close", not "exit": the output is complete only once the streams are.
    started.child.once("close", (code) =>
      resolveExit({ code, stdout: started.stdout(), stderr: started.stderr() }),
    );
  });
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
