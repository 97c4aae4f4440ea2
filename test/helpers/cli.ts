// The built CLI as a real process, as a user runs it: exit code, stdout and stderr. `npm test` builds
// dist/ first; when running vitest alone, build with `npm run build`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export const CLI = resolve("dist/cli/main.js");

export interface CliExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `plugchat-sync <args>` with exactly `env`, feeding it `stdin`; resolves whatever the exit code. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, stdin = ""): Promise<CliExit> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
