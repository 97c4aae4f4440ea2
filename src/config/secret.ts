import { inspect } from "node:util";
import { z } from "zod";
import { quoted } from "../lib/text.js";

/**
 * A value that must never be printed: logging, JSON-encoding or inspecting it yields "[redacted]".
 * Only `reveal()` gives the value, so every place that uses the secret is easy to find.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}

/** What a secret must look like, and the words for its problems. Its value is never echoed. */
export interface SecretKind {
  /** Checks the text and trims it; the first issue's message says what was expected. */
  schema: z.ZodType<string, string>;
  /** What is wrong with the variable's own value: "is not a usable password". */
  badValue: string;
  /** What is wrong with the file's contents: "does not hold a usable password". */
  badFile: string;
  /** What the file should hold: "the status page's password". */
  fileHolds: string;
}

const ONE_LINE_TOKEN = "expected one line with the token and nothing else";
const ASCII_TOKEN = "expected ASCII letters, digits and punctuation only (the token has another character)";

export const PLUGCHAT_TOKEN: SecretKind = {
  // Whitespace or control characters inside would corrupt the Authorization header; a character
  // outside ASCII cannot be sent in it as the API reads it, so every account would fail: refused
  // here, at start. Only the first issue is reported, so one with spaces says "one line".
  schema: z
    .string()
    .trim()
    .regex(/^[^\s\p{Cc}]+$/u, ONE_LINE_TOKEN)
    .regex(/^[\x21-\x7e]*$/, ASCII_TOKEN),
  badValue: "does not hold a usable token",
  badFile: "does not hold a usable token",
  fileHolds: "the token",
};

export const STATUS_PASSWORD: SecretKind = {
  schema: z
    .string()
    .trim()
    .min(8, "expected at least 8 characters")
    .regex(/^\P{Cc}*$/u, "expected no control characters (one line, nothing else)"),
  badValue: "is not a usable password",
  badFile: "does not hold a usable password",
  fileHolds: "the status page's password",
};

/** The secret (undefined when not given), or what is wrong with it. */
export interface SecretOrProblem {
  secret?: Secret;
  problem?: string;
}

/**
 * A secret given in `variable`, or in the file named by `fileVariable` (such as a Docker or Kubernetes
 * secret), never both; undefined when neither is set. `env` holds only the variables that are set.
 */
export function readSecret(
  env: Readonly<Record<string, string>>,
  [variable, fileVariable]: readonly [string, string],
  kind: SecretKind,
  readFile: (path: string) => string,
): SecretOrProblem {
  const value = env[variable];
  const file = env[fileVariable]?.trim();
  if (value !== undefined && file !== undefined) {
    return { problem: `${variable} and ${fileVariable} are both set: set only one of them` };
  }
  if (value !== undefined) return checked(value, `${variable} ${kind.badValue}`, kind);
  if (file === undefined) return {};
  let contents: string;
  try {
    contents = readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    return {
      problem: `${fileVariable}=${quoted(file)} cannot be read (${reason}): expected the path of a file holding ${kind.fileHolds}`,
    };
  }
  return checked(contents, `the file in ${fileVariable} (${file}) ${kind.badFile}`, kind);
}

function checked(text: string, whatIsWrong: string, kind: SecretKind): SecretOrProblem {
  const result = kind.schema.safeParse(text);
  if (result.success) return { secret: new Secret(result.data) };
  return { problem: `${whatIsWrong}: ${result.error.issues[0]?.message}` };
}
