// Text from Plugchat (account names, webhooks) and other sources printed for a person: every control
// character a terminal would obey is shown as an escape, and ordinary Unicode is left alone.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { TableWriter } from "../../src/cli/format.js";
import { showControls, showControlsInLine, terminalJson } from "../../src/lib/terminal-text.js";
import { quoted } from "../../src/lib/text.js";
import { createLogger } from "../../src/logger.js";
import { RAW_CONTROL, rawControls } from "../helpers/raw-controls.js";

/** The colours pino-pretty writes itself (whether it does depends on the machine). */
const COLOURS = new RegExp(`${String.fromCharCode(0x1b)}\\[[0-9;]*m`, "g");

/** `\t`, `\n`, `\r`; `\x1b` below U+0080; `\u009b` from there. */
function escapeOf(code: number): string {
  const short = { 9: "\\t", 10: "\\n", 13: "\\r" }[code];
  return (
    short ??
    (code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`)
  );
}

const HOSTILE =
  "Acme\u001b[31m red\u001b[0m\u001b[2J\u001b]0;pwned\u0007 \u009b31m\u007f\u0000 \u202eevil\u202c\ttab\nline\r";

const ORDINARY = "Café Zoë naïve — 日本語 한국어 עברית العربية 👩‍👩‍👧 🇧🇷 e\u0301 ½ ™ \u00a0nbsp";

describe("showControls", () => {
  it("shows escape sequences, an OSC title with its BEL, C1, DEL, NUL and a bidi override as escapes", () => {
    expect(showControls("\u001b[31mred\u001b[0m")).toBe("\\x1b[31mred\\x1b[0m");
    expect(showControls("\u001b[2J")).toBe("\\x1b[2J");
    expect(showControls("\u001b]0;pwned\u0007")).toBe("\\x1b]0;pwned\\x07");
    expect(showControls("\u009b31m")).toBe("\\u009b31m");
    expect(showControls("a\u007fb\u0000c")).toBe("a\\x7fb\\x00c");
    expect(showControls("\u202eevil\u202c")).toBe("\\u202eevil\\u202c");
    expect(showControls("over\rwritten")).toBe("over\\rwritten");
  });

  it("shows every bidi control: embeddings, overrides, isolates and the marks", () => {
    const bidi = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"];
    for (const char of [...bidi, "\u200e", "\u200f", "\u061c"]) {
      expect(showControls(`a${char}b`)).toBe(`a\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}b`);
    }
  });

  it("keeps newlines and tabs, which lay out text of several lines", () => {
    expect(showControls("one\ttwo\nthree")).toBe("one\ttwo\nthree");
  });

  it("leaves accents, emoji (joined, flags), CJK, RTL letters and combining marks unchanged", () => {
    expect(showControls(ORDINARY)).toBe(ORDINARY);
    expect(showControlsInLine(ORDINARY)).toBe(ORDINARY);
  });

  it("shows an unpaired surrogate, and never splits a pair", () => {
    expect(showControls("a\ud800b\udc00c")).toBe("a\\ud800b\\udc00c");
    expect(showControls("😀\ud83d")).toBe("😀\\ud83d");
  });

  it("leaves nothing a terminal acts on, and changes nothing more when applied twice", () => {
    const once = showControls(HOSTILE);
    expect(rawControls(once, "\t\n")).toEqual([]);
    expect(showControls(once)).toBe(once);
  });
});

describe("showControlsInLine", () => {
  it("shows newlines and tabs too, so that a value stays on its line", () => {
    expect(showControlsInLine("one\ttwo\nthree\r\n")).toBe("one\\ttwo\\nthree\\r\\n");
    expect(rawControls(showControlsInLine(HOSTILE), "")).toEqual([]);
  });

  it("escapes exactly the control characters of the whole BMP and leaves every other character as it is", () => {
    const wrong: string[] = [];
    for (let code = 0; code <= 0xffff; code += 1) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCharCode(code);
      const shown = showControlsInLine(char);
      const expected = RAW_CONTROL.test(char) ? escapeOf(code) : char;
      if (shown !== expected) wrong.push(`U+${code.toString(16)} shown as ${JSON.stringify(shown)}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("terminalJson", () => {
  it("is JSON of the exact value, with C1, DEL and bidi controls as \\u escapes and ordinary text as it is", () => {
    const json = terminalJson({ name: HOSTILE, ordinary: ORDINARY }, 2);
    expect(JSON.parse(json)).toEqual({ name: HOSTILE, ordinary: ORDINARY });
    expect(rawControls(json, "\n")).toEqual([]);
    expect(json).toContain("\\u009b31m\\u007f\\u0000 \\u202eevil\\u202c\\ttab\\nline\\r");
    expect(json).toContain(ORDINARY);
  });

  it("quotes a user's value in a message the same way", () => {
    expect(quoted("id\u009b\u202e")).toBe('"id\\u009b\\u202e"');
  });
});

describe("a table", () => {
  it("shows each cell on one line with its controls escaped, aligned by what is shown", () => {
    const table = new TableWriter(["id", "name"]);
    const text =
      [table.add(["a\u009bb", "x\ny"]), table.add(["c", "\u001b]0;t\u0007"])].join("") + table.end();
    expect(text).toBe(["id        name", "a\\u009bb  x\\ny", "c         \\x1b]0;t\\x07", ""].join("\n"));
  });
});

describe("log lines", () => {
  function captured(pretty: boolean) {
    let text = "";
    const sink = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });
    const logger = createLogger({ level: "info", pretty }, sink);
    logger.warn({ account: { name: HOSTILE }, fields: [HOSTILE] }, `renamed to ${HOSTILE}`);
    return () => text;
  }

  it("pretty, for a terminal: every string of the line shown with its controls as escapes", () => {
    const text = captured(true)().replace(COLOURS, "");
    expect(rawControls(text, "\t\n")).toEqual([]);
    expect(text).toContain(
      "renamed to Acme\\x1b[31m red\\x1b[0m\\x1b[2J\\x1b]0;pwned\\x07 \\u009b31m\\x7f\\x00",
    );
    expect(text).toContain("\\u202eevil\\u202c");
    expect(text.match(/\\u202eevil/g)).toHaveLength(3);
  });

  it("JSON: the exact values, with C1 and bidi controls as \\u escapes", () => {
    const text = captured(false)();
    expect(rawControls(text, "\n")).toEqual([]);
    const line = JSON.parse(text) as { msg: string; account: { name: string }; fields: string[] };
    expect(line).toMatchObject({
      msg: `renamed to ${HOSTILE}`,
      account: { name: HOSTILE },
      fields: [HOSTILE],
    });
  });
});
