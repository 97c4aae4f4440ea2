import { describe, expect, it } from "vitest";
import { IdFileFormatError, parseIdFile, splitCsvRecord } from "../../src/accounts/id-file-parser.js";

async function* linesOf(text: string): AsyncGenerator<string> {
  for (const line of text.split("\n")) yield line;
}

const parse = (text: string, options?: { maxInvalidKept?: number }) => parseIdFile(linesOf(text), options);

describe("parseIdFile: one id per line", () => {
  it("reads ids, trims them, skips blank lines and comments", async () => {
    const parsed = await parse(
      "# exported 2026-11-24\nacc-1\n\n  acc_2  \n\t# indented comment\nACC3\r\n   \n",
    );
    expect(parsed).toEqual({
      format: "lines",
      ids: ["acc-1", "acc_2", "ACC3"],
      duplicates: 0,
      invalid: [],
      invalidCount: 0,
      invalidValueCount: 0,
      expectedFields: [],
      expectedCells: [],
    });
  });

  it("reports invalid ids with their physical line numbers, comments and blanks counted", async () => {
    const parsed = await parse("# header comment\nok-1\n\na b\nok-2\n../etc\nnaïve\n");
    expect(parsed.ids).toEqual(["ok-1", "ok-2"]);
    expect(parsed.invalidCount).toBe(3);
    expect(parsed.invalid).toEqual([
      { line: 4, value: "a b", message: 'line 4: "a b" is not a valid account id' },
      { line: 6, value: "../etc", message: 'line 6: "../etc" is not a valid account id' },
      { line: 7, value: "naïve", message: 'line 7: "naïve" is not a valid account id' },
    ]);
  });

  it("rejects an id longer than 128 characters", async () => {
    const parsed = await parse(`${"a".repeat(128)}\n${"b".repeat(129)}`);
    expect(parsed.ids).toEqual(["a".repeat(128)]);
    expect(parsed.invalid.map((entry) => entry.line)).toEqual([2]);
  });

  it("counts an id repeated in the file once, and the repeats as duplicates", async () => {
    const parsed = await parse("a\nb\na\nc\nb\na\n");
    expect(parsed.ids).toEqual(["a", "b", "c"]);
    expect(parsed.duplicates).toBe(3);
  });

  it("keeps only the first rejected lines but counts them all", async () => {
    const text = Array.from({ length: 30 }, (_, index) => `bad id ${index}`).join("\n");
    const parsed = await parse(text, { maxInvalidKept: 5 });
    expect(parsed.invalidCount).toBe(30);
    expect(parsed.invalid.map((entry) => entry.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it("ignores a byte order mark at the start of the file", async () => {
    expect((await parse("\uFEFFacc-1\nacc-2")).ids).toEqual(["acc-1", "acc-2"]);
  });

  it("returns nothing for an empty file or one with only comments", async () => {
    expect(await parse("")).toMatchObject({ ids: [], invalidCount: 0 });
    expect(await parse("# nothing yet\n\n")).toMatchObject({ ids: [], invalidCount: 0 });
  });

  it("treats a later line holding a comma as an invalid id, not as CSV", async () => {
    const parsed = await parse("acc-1\nacc-2,acc-3\n");
    expect(parsed.format).toBe("lines");
    expect(parsed.invalid.map((entry) => entry.line)).toEqual([2]);
  });
});

describe("parseIdFile: CSV", () => {
  it("reads the accountId column among others, with quoted values", async () => {
    const parsed = await parse(
      [
        "name,accountId,active",
        '"Shop, Inc.",acc-1,true',
        '"Say ""hi""", "acc-2" ,false',
        "Plain,acc-3,",
        "Short row",
      ].join("\n"),
    );
    expect(parsed.format).toBe("csv");
    expect(parsed.ids).toEqual(["acc-1", "acc-2", "acc-3"]);
    expect(parsed.invalid).toEqual([
      { line: 5, value: "", message: "line 5: the accountId column is empty" },
    ]);
    // name and active are synced fields: their cells are expected values (an empty one expects null).
    expect(parsed.expectedFields).toEqual(["name", "active"]);
    expect(parsed.expectedCells).toEqual(["Shop, Inc.", "true", 'Say "hi"', "false", "Plain", null]);
  });

  it("reads an id column, names matched case-insensitively, header quoted", async () => {
    const parsed = await parse('"ID","Name"\nacc-1,One\nacc-2,Two\n');
    expect(parsed).toMatchObject({ format: "csv", ids: ["acc-1", "acc-2"], invalidCount: 0 });
  });

  it("prefers accountId over id when both are there", async () => {
    const parsed = await parse("id,accountId\n1,acc-1\n2,acc-2\n");
    expect(parsed.ids).toEqual(["acc-1", "acc-2"]);
  });

  it("takes a lone accountId or id line as a one-column header", async () => {
    expect(await parse("accountId\nacc-1\nacc-2")).toMatchObject({ format: "csv", ids: ["acc-1", "acc-2"] });
    expect(await parse("# ids\n\nid\nacc-1")).toMatchObject({ format: "csv", ids: ["acc-1"] });
  });

  it("skips comments and blank lines, reports invalid ids and duplicates with line numbers", async () => {
    const parsed = await parse(
      "# from the CRM\naccountId,name\n\nacc-1,A\n# a comment\nbad id,B\nacc-1,again\n",
    );
    expect(parsed.ids).toEqual(["acc-1"]);
    expect(parsed.duplicates).toBe(1);
    expect(parsed.invalid).toEqual([
      { line: 6, value: "bad id", message: 'line 6: "bad id" is not a valid account id' },
    ]);
  });

  it("reads a quoted value spanning lines, and reports the record at the line where it starts", async () => {
    const parsed = await parse('accountId,note\nacc-1,"two\nlines"\nbad id,"x"\nacc-2,ok\n');
    expect(parsed.ids).toEqual(["acc-1", "acc-2"]);
    expect(parsed.invalid.map((entry) => entry.line)).toEqual([4]);
  });

  it("reports a quote that is never closed", async () => {
    const parsed = await parse('accountId,note\nacc-1,ok\nacc-2,"open\nstill open');
    expect(parsed.ids).toEqual(["acc-1"]);
    expect(parsed.invalid).toHaveLength(1);
    expect(parsed.invalid[0]?.line).toBe(3);
    expect(parsed.invalid[0]?.message).toMatch(/^line 3: a quoted CSV value is never closed/);
  });

  it("fails on a header without an id column, naming the line", async () => {
    const failure = parse("# export\nname,email\nx,y\n");
    await expect(failure).rejects.toBeInstanceOf(IdFileFormatError);
    await expect(failure).rejects.toThrow(/^line 2: .*has no accountId or id column/);
  });
});

describe("parseIdFile: expected values", () => {
  it("reads the columns named after synced fields, in either spelling and any case, wherever the id column is", async () => {
    const parsed = await parse(
      [
        "External_ID,note,ACTIVE,accountId,onReceiveMessage,on_message_status",
        "k1,ignored,true,acc-1,https://a.example/hook,https://a.example/status",
        "k2,ignored,0,acc-2,https://b.example/hook,",
      ].join("\n"),
    );
    expect(parsed.expectedFields).toEqual(["externalId", "active", "onReceiveMessage", "onMessageStatus"]);
    expect(parsed.ids).toEqual(["acc-1", "acc-2"]);
    expect(parsed.expectedCells).toEqual(
      [
        ["k1", "true", "https://a.example/hook", "https://a.example/status"],
        ["k2", "0", "https://b.example/hook", null],
      ].flat(),
    );
    expect(parsed.invalidValueCount).toBe(0);
  });

  it("expects null for an empty or missing cell, the empty string for a quoted one, and keeps a quoted value's spaces", async () => {
    const parsed = await parse(
      ["accountId,name,onReceiveMessage", 'acc-1,,""', 'acc-2, Trimmed ," Kept "', "acc-3"].join("\n"),
    );
    expect(parsed.expectedCells).toEqual([null, "", "Trimmed", " Kept ", null, null]);
  });

  it("keeps ignoring the columns that name no synced field (the id file of before)", async () => {
    const parsed = await parse("accountId,email,status,id\nacc-1,a@example.com,paying,7\n");
    expect(parsed).toMatchObject({ ids: ["acc-1"], expectedFields: [], expectedCells: [], invalidCount: 0 });
  });

  it("reports a value its field cannot take with its line number, keeping the id and the other values", async () => {
    const parsed = await parse(
      [
        "# from the CRM",
        "accountId,active,name",
        "acc-1,maybe,One",
        "",
        'acc-2,"",Two',
        "acc-3,TRUE,Three",
      ].join("\n"),
    );
    expect(parsed.ids).toEqual(["acc-1", "acc-2", "acc-3"]);
    expect(parsed.invalidCount, "no id is rejected").toBe(0);
    expect(parsed.invalidValueCount).toBe(2);
    expect(parsed.invalid).toEqual([
      { line: 3, value: "maybe", message: 'line 3: active "maybe" is not a boolean (true, false, 1 or 0)' },
      { line: 5, value: "", message: 'line 5: active "" is not a boolean (true, false, 1 or 0)' },
    ]);
    // As read: the rules that store them skip the invalid ones again.
    expect(parsed.expectedCells).toEqual(["maybe", "One", "", "Two", "TRUE", "Three"]);
  });

  it("keeps the first line of a repeated id, but still reports an invalid value on a later one", async () => {
    const parsed = await parse("accountId,active\nacc-1,true\nacc-1,false\nacc-1,nope\n");
    expect(parsed).toMatchObject({ ids: ["acc-1"], duplicates: 2, expectedCells: ["true"] });
    expect(parsed.invalid.map((entry) => entry.message)).toEqual([
      'line 4: active "nope" is not a boolean (true, false, 1 or 0)',
    ]);
  });

  it("checks no value on a line whose id is rejected", async () => {
    const parsed = await parse("accountId,active\nbad id,maybe\n,maybe\n");
    expect(parsed.invalidCount).toBe(2);
    expect(parsed.invalidValueCount).toBe(0);
    expect(parsed.expectedCells).toEqual([]);
  });

  it("fails on two columns for one field, naming both", async () => {
    const failure = parse("accountId,externalId,external_id\nacc-1,a,b\n");
    await expect(failure).rejects.toBeInstanceOf(IdFileFormatError);
    await expect(failure).rejects.toThrow(
      /^line 1: the columns "externalId" and "external_id" both give the field externalId: keep one of them$/,
    );
  });
});

describe("parseIdFile: a huge line is cut in its message", () => {
  const huge = `${"x".repeat(5000)} ${"y".repeat(5000)}`;
  // Enough for "line N: ", the cut value and the sentence around it; the 10,001 characters never.
  const MAX_MESSAGE = 250;

  it("cuts an invalid id, an invalid CSV id and an invalid expected value, ending them in …", async () => {
    const messages = [
      ...(await parse(`ok-1\n${huge}`)).invalid,
      ...(await parse(`accountId,note\n"${huge}",n`)).invalid,
      ...(await parse(`id,active\nacc-1,${huge}`)).invalid,
    ].map((entry) => entry.message);
    expect(messages).toHaveLength(3);
    for (const message of messages) {
      expect(message.length).toBeLessThan(MAX_MESSAGE);
      expect(message).toMatch(/^line 2: .*xxx…/);
    }
  });

  it("cuts a header with no id column", async () => {
    const error = await parse(`${huge},b\nx,y`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IdFileFormatError);
    expect((error as Error).message.length).toBeLessThan(MAX_MESSAGE * 2);
    expect((error as Error).message).toMatch(/^line 1: this looks like a CSV header \("x+…"\)/);
  });
});

describe("splitCsvRecord", () => {
  it("splits quoted and unquoted fields", () => {
    expect(splitCsvRecord('a,"b,c",,"d""e"')).toEqual({
      fields: ["a", "b,c", "", 'd"e'],
      quoted: [false, true, false, true],
      unterminated: false,
    });
  });

  it("says when a quoted field is still open at the end", () => {
    expect(splitCsvRecord('a,"b').unterminated).toBe(true);
  });
});
