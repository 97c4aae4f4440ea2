import type { z } from "zod";
import { ExitCode, UserFacingError } from "../errors.js";
import { quoted } from "../lib/text.js";

/** Bad configuration: one line per bad variable, exit code 2. */
export class ConfigError extends UserFacingError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(problems.map((problem) => `invalid configuration: ${problem}`).join("\n"), {
      exitCode: ExitCode.badConfig,
    });
    this.problems = problems;
  }
}

/**
 * The `params` of a custom issue whose line quotes the variable's value. Without them a custom issue
 * names the variable only: URLs can hold passwords, and a query is long.
 */
export const ECHO_VALUE = { echo: true } as const;

/**
 * The lines of a failed parse of the environment: one per bad variable (its first issue), in the order
 * of the schema, then one per broken rule between variables (issues without a path, whose message is
 * the whole line). `env` holds the variables as given, for quoting them back.
 */
export function problemLines(
  issues: readonly z.core.$ZodIssue[],
  env: Readonly<Record<string, string>>,
): string[] {
  const lines: string[] = [];
  const described = new Set<PropertyKey>();
  for (const issue of issues) {
    const name = issue.path[0];
    if (name === undefined) {
      lines.push(issue.message);
    } else if (!described.has(name)) {
      described.add(name);
      lines.push(variableProblem(String(name), env[String(name)] ?? "", issue));
    }
  }
  return lines;
}

/**
 * zod's own checks (numbers, choices, patterns) carry what was expected as their message. A custom
 * check's message is everything after the variable's name (and value).
 */
function variableProblem(name: string, value: string, issue: z.core.$ZodIssue): string {
  const withValue = `${name}=${quoted(value)}`;
  if (issue.code !== "custom") return `${withValue} is not valid: ${issue.message}`;
  return `${issue.params?.echo === true ? withValue : name} ${issue.message}`;
}
