// `plugchat-sync simulator --accounts-file`: the accounts to serve, from a file. JSON: an array of ids,
// an array of objects each with an `id` and any account fields, or an object of id → fields. Otherwise
// the id files `accounts import` reads: one id per line, or a CSV with an id column whose columns
// named after fields (name, active, externalId or external_id...) set them. An account the file does
// not describe whole gets the rest from a blank one (active, named "Account <id>", no webhooks).
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { parseIdFile } from "../accounts/id-file-parser.js";
import { readLines } from "../accounts/read-lines.js";
import { expectedValueOf } from "../accounts/source/expectations.js";
import { ExitCode, UserFacingError } from "../errors.js";
import { quoted } from "../lib/text.js";
import { isValidAccountId, type PlugchatAccount } from "../plugchat/index.js";
import { blankAccount } from "./accounts.js";
import { accountFields } from "./control.js";

/** A file that cannot serve as the accounts: bad input, exit 2. */
class AccountsFileError extends UserFacingError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.badConfig });
  }
}

/** The accounts of `path`, by id, or an AccountsFileError saying what is wrong and where. */
export async function readAccountsFile(path: string): Promise<Record<string, PlugchatAccount>> {
  const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new AccountsFileError(
      `--accounts-file ${quoted(path)} cannot be read (${error.code ?? error.message}): give a readable file`,
    );
  });
  const accounts = /^\s*[[{]/.test(text) ? fromJson(text, path) : await fromIdFile(path);
  if (Object.keys(accounts).length === 0)
    throw new AccountsFileError(`--accounts-file ${quoted(path)} holds no account: give at least one id`);
  return accounts;
}

const jsonAccount = accountFields.extend({ id: z.string() });

function fromJson(text: string, path: string): Record<string, PlugchatAccount> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AccountsFileError(
      `--accounts-file ${quoted(path)} is not valid JSON (${(error as Error).message})`,
    );
  }
  const entries: [string, Partial<PlugchatAccount>][] = Array.isArray(parsed)
    ? parsed.map((entry, index) =>
        typeof entry === "string"
          ? [entry, {}]
          : accountEntry(checked(jsonAccount, entry, `[${index}]`, path)),
      )
    : Object.entries(checked(z.record(z.string(), accountFields), parsed, "", path));
  return Object.fromEntries(
    entries.map(([id, fields]) => [checkedId(id, path), { ...blankAccount(id), ...fields }]),
  );
}

/** `value` as `schema` has it, or an error naming where in the file and what is wrong. */
function checked<T>(schema: z.ZodType<T>, value: unknown, where: string, path: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = `${where}${issue?.path.length ? `.${issue.path.join(".")}` : ""}` || "the file";
  throw new AccountsFileError(
    `--accounts-file ${quoted(path)}: ${at}: ${issue?.message ?? "not an account"}; write an array of ids, an array of {"id": ..., "name": ...}, or an object of id → fields`,
  );
}

function accountEntry(entry: { id: string } & Partial<PlugchatAccount>): [string, Partial<PlugchatAccount>] {
  return [entry.id, withoutId(entry)];
}

function withoutId(entry: { id: string } & Partial<PlugchatAccount>): Partial<PlugchatAccount> {
  const { id: _, ...fields } = entry;
  return fields;
}

function checkedId(id: string, path: string): string {
  if (!isValidAccountId(id))
    throw new AccountsFileError(`--accounts-file ${quoted(path)}: ${quoted(id)} is not a valid account id`);
  return id;
}

async function fromIdFile(path: string): Promise<Record<string, PlugchatAccount>> {
  const parsed = await parseIdFile(readLines(path));
  const firstInvalid = parsed.invalid[0];
  if (firstInvalid) throw new AccountsFileError(`--accounts-file ${quoted(path)}: ${firstInvalid.message}`);
  const width = parsed.expectedFields.length;
  return Object.fromEntries(
    parsed.ids.map((id, row) => {
      const account: PlugchatAccount = blankAccount(id);
      parsed.expectedFields.forEach((field, column) => {
        const cell = parsed.expectedCells[row * width + column] ?? null;
        const value = expectedValueOf(field, cell);
        if (!value.ok)
          throw new AccountsFileError(`--accounts-file ${quoted(path)}: ${id} ${field}: ${value.reason}`);
        // An empty cell leaves a name or active flag as the blank account has it (they cannot be null).
        if (value.value === null && (field === "name" || field === "active")) return;
        Object.assign(account, { [field]: field === "active" ? value.value === "true" : value.value });
      });
      return [id, account];
    }),
  );
}
