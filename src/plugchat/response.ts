import { z } from "zod";

/** One account as `GET /integrator/account/{id}/` describes it. */
export interface PlugchatAccount {
  externalId: string | null;
  name: string;
  active: boolean;
  onStartAttendance: string | null;
  onFinishAttendance: string | null;
  onReceiveMessage: string | null;
  onSendingMessage: string | null;
  onMessageStatus: string | null;
}

const accountSchema = z.object({
  externalId: z.string().nullable(),
  name: z.string(),
  active: z.boolean(),
  onStartAttendance: z.string().nullable(),
  onFinishAttendance: z.string().nullable(),
  onReceiveMessage: z.string().nullable(),
  onSendingMessage: z.string().nullable(),
  onMessageStatus: z.string().nullable(),
}) satisfies z.ZodType<PlugchatAccount>;

export const ACCOUNT_FIELDS: readonly string[] = Object.keys(accountSchema.shape);

export type ParsedAccount =
  | { ok: true; account: PlugchatAccount; unknownFields: string[] }
  | { ok: false; problem: string; field: string | null };

/**
 * Reads an account from a response body. Problems name the field and the types involved, never the
 * values: account data belongs to the integrator's customers and ends up in logs.
 */
export function parseAccountBody(body: Uint8Array): ParsedAccount {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { ok: false, problem: "the body is not JSON", field: null };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { ok: false, problem: `the body is not a JSON object (got ${typeName(data)})`, field: null };
  }
  const record = data as Record<string, unknown>;
  const result = accountSchema.safeParse(record);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, record));
    const field = result.error.issues[0]?.path[0];
    return { ok: false, problem: problems.join("; "), field: typeof field === "string" ? field : null };
  }
  const unknownFields = Object.keys(record).filter((key) => !ACCOUNT_FIELDS.includes(key));
  return { ok: true, account: result.data, unknownFields };
}

function describeIssue(issue: z.core.$ZodIssue, record: Record<string, unknown>): string {
  const key = issue.path[0];
  if (typeof key !== "string") return issue.message;
  if (!Object.hasOwn(record, key)) return `field "${key}" is missing`;
  if (issue.code === "invalid_type") {
    const acceptsNull = accountSchema.shape[key as keyof PlugchatAccount].safeParse(null).success;
    return `field "${key}" must be ${issue.expected}${acceptsNull ? " or null" : ""}, got ${typeName(record[key])}`;
  }
  return `field "${key}": ${issue.message}`;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
