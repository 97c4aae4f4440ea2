// What must never reach a terminal raw, for the tests of what is printed: C0, DEL, C1, the bidi
// controls, an unpaired surrogate. (Written out here, apart from src/lib/terminal-text.ts, on purpose.)
const CONTROLS = "\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";

/** Whether a character is one a terminal would act on. */
export const RAW_CONTROL = new RegExp(`^(?:[${CONTROLS}]|\\p{Cs})$`, "u");

/** The characters of `text` a terminal would act on, but those of `allowed`, as U+XXXX. */
export function rawControls(text: string, allowed = "\n"): string[] {
  return [...text]
    .filter((char) => RAW_CONTROL.test(char) && !allowed.includes(char))
    .map((char) => `U+${(char.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`);
}
