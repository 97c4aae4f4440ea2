// How the text of one variable becomes its value. Each builder's problems follow src/config/problems.ts:
// zod's own checks carry what was expected; custom checks carry all that follows the variable's name.
import { resolve } from "node:path";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { ECHO_VALUE } from "./problems.js";

// multipleOf(1) rather than int(): a failed int() stops the whole parse, and the rules between
// variables would then go unchecked (see ENVIRONMENT); every check here lets the parse go on.
export function wholeNumber(min: number, max: number) {
  return z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .multipleOf(1)
    .min(min)
    .max(max);
}

export function decimal(min: number, max: number) {
  return z.coerce
    .number({ error: `expected a number from ${min} to ${max}` })
    .min(min)
    .max(max);
}

/** The longest retention: a hundred years, which is forever in all but name. */
const MAX_RETENTION_DAYS = 36_500;

/**
 * A retention in whole days (1 or more), or "forever" (null): rows are kept. 0 is refused rather
 * than read as "keep nothing" or as "forever", which it could mean either way.
 */
export function retentionDays() {
  return z
    .string()
    .trim()
    .superRefine((text, ctx) => {
      if (text.toLowerCase() === "forever") return;
      const days = Number(text);
      if (!/^\d+$/.test(text) || days < 1 || days > MAX_RETENTION_DAYS) {
        ctx.addIssue({
          code: "custom",
          message: `is not valid: expected a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or "forever" to keep every row`,
          params: ECHO_VALUE,
        });
      }
    })
    .transform((text): number | null => (text.toLowerCase() === "forever" ? null : Number(text)));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .trim()
    .pipe(z.enum(values, { error: `expected one of ${values.join(", ")}` }));
}

const YES_OR_NO = new Map([
  ["true", true],
  ["1", true],
  ["yes", true],
  ["false", false],
  ["0", false],
  ["no", false],
]);

/** true/1/yes or false/0/no, in any case (not z.stringbool: it too stops the whole parse). */
export function yesOrNo() {
  return z.preprocess(
    (text) => YES_OR_NO.get(String(text).trim().toLowerCase()) ?? text,
    z.boolean({ error: "expected true or false" }),
  );
}

export function matching(pattern: RegExp, expected: string) {
  return z
    .string({ error: `expected ${expected}` })
    .trim()
    .regex(pattern);
}

/** What each queue schema needs to be told apart from: its own, dropped whole when the queues go. */
export const OWN_QUEUE_SCHEMA = 'the queues need a schema of their own, such as "bullmq"';

/**
 * The queue backend's PostgreSQL schema: a plain lower-case identifier (it is written into SQL), and
 * neither PostgreSQL's own schemas nor `public`, where other tables live (the reporting tables by
 * default): BullMQ's tables there could not be removed with their schema. The reporting tables' own
 * schema is a rule between variables (src/config/environment.ts).
 */
export function queueSchemaName() {
  return matching(
    /^[a-z_][a-z0-9_]{0,62}$/,
    'a schema name: 1 to 63 lower-case letters, digits or "_", not starting with a digit',
  ).superRefine((name, ctx) => {
    const what =
      name === "public"
        ? "is PostgreSQL's default schema, where other tables live (the reporting tables unless DATABASE_URL names another schema)"
        : name === "information_schema" || name.startsWith("pg_")
          ? "is a schema of PostgreSQL itself"
          : undefined;
    if (what) ctx.addIssue({ code: "custom", message: `${what}: ${OWN_QUEUE_SCHEMA}`, params: ECHO_VALUE });
  });
}

/** Trimmed; never echoed, as a URL may hold a password. */
export function url(protocols: readonly string[], example: string) {
  return z
    .string()
    .trim()
    .superRefine((text, ctx) => {
      if (!URL.canParse(text)) {
        ctx.addIssue({ code: "custom", message: `is not a valid URL: expected the form ${example}` });
        return;
      }
      const { protocol } = new URL(text);
      if (!protocols.includes(protocol)) {
        ctx.addIssue({
          code: "custom",
          message: `has the scheme "${protocol}": expected ${protocols.join(" or ")} URL such as ${example}`,
        });
      }
    });
}

/** Resolved against the working directory once, so every process and the server agree on the path. */
export function directory() {
  return z
    .string()
    .refine((path) => !path.includes("\0"), "is not a valid path: expected a directory path")
    .transform((path) => resolve(path.trim()));
}

/** A 5- or 6-field cron expression, or "off". */
export function cronSchedule() {
  return z
    .string()
    .trim()
    .superRefine((expression, ctx) => {
      const problem = expression === "off" ? undefined : cronProblem(expression);
      if (problem) {
        ctx.addIssue({
          code: "custom",
          message: `is not valid (${problem}): expected 5 cron fields such as "*/15 * * * *", 6 with seconds first, or "off"`,
          params: ECHO_VALUE,
        });
      }
    });
}

export function timeZone() {
  return z.string().refine(isTimeZone, {
    message: 'is not a known time zone: expected an IANA name such as "UTC" or "America/Sao_Paulo"',
    params: ECHO_VALUE,
  });
}

/** One SQL query, without a trailing semicolon; never echoed (it is the integrator's SQL, and long). */
export function sqlQuery() {
  return z
    .string()
    .trim()
    .transform((query) => query.replace(/;\s*$/, ""))
    .refine((query) => !query.includes("\u0000"), "holds a NUL character: expected one SQL query");
}

function cronProblem(expression: string): string | undefined {
  const fields = expression.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `it has ${fields} fields, not 5 or 6`;
  try {
    CronExpressionParser.parse(expression);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
