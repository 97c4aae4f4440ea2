// Prometheus's promtool (Debian's `prometheus` package; `.ci/run` installs it). Without it the tests
// that need it are reported as skipped, naming what is missing; under CI=true they run anyway and
// fail, saying so: CI must never pass on a check it did not make.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** The path of `program` on PATH, or null when it is not installed. */
export function installedProgram(program: string): string | null {
  return (
    (process.env.PATH ?? "")
      .split(delimiter)
      .map((dir) => join(dir, program))
      .find((path) => existsSync(path)) ?? null
  );
}

const PROMTOOL = installedProgram("promtool");

/** Whether the tests that need promtool run: when it is installed, and always under CI. */
export const runPromtoolTests = PROMTOOL !== null || process.env.CI === "true";

/** The suffix of a describe that needs promtool, saying why it is skipped when it is. */
export const promtoolNote = runPromtoolTests
  ? ""
  : " (skipped: promtool is not installed: apt-get install prometheus)";

/** Runs `promtool <args>`, feeding it `stdin`; resolves whatever the exit code. */
export function promtool(
  args: readonly string[],
  stdin = "",
): Promise<{ code: number | null; output: string }> {
  if (PROMTOOL === null) {
    throw new Error("promtool is missing: CI runs every test (apt-get install prometheus)");
  }
  const child = spawn(PROMTOOL, args, { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stdin.end(stdin);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}
