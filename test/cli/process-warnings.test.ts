// With JSON logs, stderr holds JSON lines and the CLI's own `plugchat-sync: ...` lines only: a warning
// Node would print as plain text (pg's notice about sslmode, here) is logged as one JSON line instead.
import { describe, expect, it } from "vitest";
import { inheritedEnv, runCli } from "../helpers/cli.js";

// pg warns when it reads the URL, before connecting: whether a server answers there does not matter.
const SSL_URL = "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=require";

function isJsonObject(line: string): boolean {
  try {
    return typeof JSON.parse(line) === "object";
  } catch {
    return false;
  }
}

describe("process warnings", () => {
  it("are logged as one JSON line at warn, so that stderr holds no other text than JSON and the CLI's own lines", async () => {
    const result = await runCli(["report", "--runs", "1"], inheritedEnv({ DATABASE_URL: SSL_URL }));
    const lines = result.stderr.split("\n").filter((line) => line !== "");
    expect(lines.filter((line) => !isJsonObject(line) && !line.startsWith("plugchat-sync: "))).toEqual([]);
    const warnings = lines
      .filter(isJsonObject)
      .map((line) => JSON.parse(line) as { level: string; msg: string; warning?: { message: string } })
      .filter((entry) => entry.msg === "process warning");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.level).toBe("warn");
    expect(warnings[0]?.warning?.message).toMatch(/SSL modes 'prefer', 'require', and 'verify-ca'/);
  });
});
