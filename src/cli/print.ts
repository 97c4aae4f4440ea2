// What the CLI prints for a person goes through here (long streamed output through ./stdout.ts): names,
// webhooks, ids and error messages come from Plugchat or an integrator's database, so any control
// character in them is shown as an escape rather than obeyed by the terminal (src/lib/terminal-text.ts).
import { showControls, terminalJson } from "../lib/terminal-text.js";

/** Writes `text` and a newline to stdout. */
export function printLine(text: string): void {
  process.stdout.write(`${showControls(text)}\n`);
}

/** Writes `plugchat-sync: <text>` to stderr: errors, warnings, notes (`error: ...`, `warning: ...`). */
export function printNotice(text: string): void {
  process.stderr.write(`plugchat-sync: ${showControls(text)}\n`);
}

/**
 * Writes `value` as JSON to stdout: the exact values (a JSON reader gets every character back), with
 * control characters as `\uXXXX` escapes, so that the JSON is safe to print on a terminal too.
 */
export function printJson(value: object, indent?: number): void {
  process.stdout.write(`${terminalJson(value, indent)}\n`);
}
