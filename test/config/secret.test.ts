import { describe, expect, it } from "vitest";
import { PLUGCHAT_TOKEN, readSecret, STATUS_PASSWORD } from "../../src/config/secret.js";

const TOKEN_NAMES = ["PLUGCHAT_TOKEN", "PLUGCHAT_TOKEN_FILE"] as const;
const PASSWORD_NAMES = ["STATUS_PASSWORD", "STATUS_PASSWORD_FILE"] as const;

function files(contents: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = contents[path];
    if (text === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
    return text;
  };
}

describe("readSecret", () => {
  it("gives nothing when neither variable is set", () => {
    expect(readSecret({}, TOKEN_NAMES, PLUGCHAT_TOKEN, files({}))).toEqual({});
  });

  it("takes the variable's value or the file's contents, trimmed", () => {
    expect(
      readSecret({ PLUGCHAT_TOKEN: " tok \n" }, TOKEN_NAMES, PLUGCHAT_TOKEN, files({})).secret?.reveal(),
    ).toBe("tok");
    const fromFile = readSecret(
      { STATUS_PASSWORD_FILE: " /run/secrets/status " },
      PASSWORD_NAMES,
      STATUS_PASSWORD,
      files({ "/run/secrets/status": "long enough\n" }),
    );
    expect(fromFile.secret?.reveal()).toBe("long enough");
  });

  it("refuses both at once in the same words for each secret, without reading the file", () => {
    const readFile = () => {
      throw new Error("not read");
    };
    expect(
      readSecret({ PLUGCHAT_TOKEN: "t", PLUGCHAT_TOKEN_FILE: "/t" }, TOKEN_NAMES, PLUGCHAT_TOKEN, readFile),
    ).toEqual({
      problem: "PLUGCHAT_TOKEN and PLUGCHAT_TOKEN_FILE are both set: set only one of them",
    });
    expect(
      readSecret(
        { STATUS_PASSWORD: "x", STATUS_PASSWORD_FILE: "/p" },
        PASSWORD_NAMES,
        STATUS_PASSWORD,
        readFile,
      ),
    ).toEqual({ problem: "STATUS_PASSWORD and STATUS_PASSWORD_FILE are both set: set only one of them" });
  });

  it("says what each file should hold when it cannot be read", () => {
    expect(readSecret({ PLUGCHAT_TOKEN_FILE: "/t" }, TOKEN_NAMES, PLUGCHAT_TOKEN, files({})).problem).toBe(
      'PLUGCHAT_TOKEN_FILE="/t" cannot be read (ENOENT): expected the path of a file holding the token',
    );
    expect(
      readSecret({ STATUS_PASSWORD_FILE: "/p" }, PASSWORD_NAMES, STATUS_PASSWORD, files({})).problem,
    ).toBe(
      'STATUS_PASSWORD_FILE="/p" cannot be read (ENOENT): expected the path of a file holding the status page\'s password',
    );
  });

  it("refuses a token with a character outside ASCII, or a control character or space inside, without echoing it", () => {
    const ascii =
      "does not hold a usable token: expected ASCII letters, digits and punctuation only (the token has another character)";
    const oneLine = "does not hold a usable token: expected one line with the token and nothing else";
    const tokens: [string, string][] = [
      ["tok\u00e9n-123", ascii],
      ["tok\u20acn-123", ascii],
      ["tok\u{1F511}-123", ascii],
      ["tok\u00a0n-123", oneLine],
      ["tok\u0007n-123", oneLine],
      ["tok\u007fn-123", oneLine],
      ["tok\tn-123", oneLine],
    ];
    for (const [token, message] of tokens) {
      const fromVariable = readSecret({ PLUGCHAT_TOKEN: token }, TOKEN_NAMES, PLUGCHAT_TOKEN, files({}));
      expect(fromVariable).toEqual({ problem: `PLUGCHAT_TOKEN ${message}` });
      const fromFile = readSecret(
        { PLUGCHAT_TOKEN_FILE: "/t" },
        TOKEN_NAMES,
        PLUGCHAT_TOKEN,
        files({ "/t": `${token}\n` }),
      );
      expect(fromFile).toEqual({ problem: `the file in PLUGCHAT_TOKEN_FILE (/t) ${message}` });
    }
    // Every printable ASCII character is fine.
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
    expect(
      readSecret({ PLUGCHAT_TOKEN: printable }, TOKEN_NAMES, PLUGCHAT_TOKEN, files({})).secret?.reveal(),
    ).toBe(printable);
  });

  it("checks a token and a password each its own way, and never echoes them", () => {
    const cases: [Record<string, string>, readonly [string, string], typeof PLUGCHAT_TOKEN, string][] = [
      [
        { PLUGCHAT_TOKEN: "two words" },
        TOKEN_NAMES,
        PLUGCHAT_TOKEN,
        "PLUGCHAT_TOKEN does not hold a usable token: expected one line with the token and nothing else",
      ],
      [
        { PLUGCHAT_TOKEN_FILE: "/empty" },
        TOKEN_NAMES,
        PLUGCHAT_TOKEN,
        "the file in PLUGCHAT_TOKEN_FILE (/empty) does not hold a usable token: expected one line with the token and nothing else",
      ],
      [
        { STATUS_PASSWORD: "seven77" },
        PASSWORD_NAMES,
        STATUS_PASSWORD,
        "STATUS_PASSWORD is not a usable password: expected at least 8 characters",
      ],
      [
        { STATUS_PASSWORD: "tab\tinside" },
        PASSWORD_NAMES,
        STATUS_PASSWORD,
        "STATUS_PASSWORD is not a usable password: expected no control characters (one line, nothing else)",
      ],
      [
        { STATUS_PASSWORD_FILE: "/two" },
        PASSWORD_NAMES,
        STATUS_PASSWORD,
        "the file in STATUS_PASSWORD_FILE (/two) does not hold a usable password: expected no control characters (one line, nothing else)",
      ],
    ];
    for (const [env, names, kind, problem] of cases) {
      expect(
        readSecret(env, names, kind, files({ "/empty": " \n", "/two": "first line\nsecond" })).problem,
      ).toBe(problem);
    }
    // Spaces are fine inside a password, not inside a token.
    expect(
      readSecret({ STATUS_PASSWORD: "two words" }, PASSWORD_NAMES, STATUS_PASSWORD, files({})).secret,
    ).toBeDefined();
  });
});
