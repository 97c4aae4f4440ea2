import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLines } from "../../src/accounts/read-lines.js";
import { UserFacingError } from "../../src/errors.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "plugchat-read-lines-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const result: string[] = [];
  for await (const line of lines) result.push(line);
  return result;
}

describe("readLines", () => {
  it("streams the lines of a file, LF or CRLF, last line without a newline", async () => {
    const file = join(dir, "ids.txt");
    await writeFile(file, "a\r\nb\n\nc");
    expect(await collect(readLines(file))).toEqual(["a", "b", "", "c"]);
  });

  it('reads standard input for "-"', async () => {
    expect(await collect(readLines("-", Readable.from(["x\ny", "\nz\n"])))).toEqual(["x", "y", "z"]);
  });

  it("turns a missing file into one clear user-facing line", async () => {
    const missing = join(dir, "missing.txt");
    const failure = collect(readLines(missing));
    await expect(failure).rejects.toBeInstanceOf(UserFacingError);
    await expect(failure).rejects.toThrow(
      `cannot read ${JSON.stringify(missing)}: no such file: check the path`,
    );
  });

  it("turns a directory into one clear user-facing line", async () => {
    await expect(collect(readLines(dir))).rejects.toThrow(
      `cannot read ${JSON.stringify(dir)}: it is a directory: give the path of a file`,
    );
  });
});
