// The one table writer of the CLI: whole tables (`report`, `sync`) and streamed ones (`accounts list`).
import { describe, expect, it } from "vitest";
import { formatTable, TableWriter } from "../../src/cli/format.js";

describe("formatTable", () => {
  it("aligns the columns under a rule of dashes, with no trailing spaces or newline", () => {
    expect(
      formatTable(
        ["run", "status", "note"],
        [
          ["#1", "succeeded", ""],
          ["#12", "failed", "timed out"],
        ],
      ),
    ).toBe(
      [
        "run  status     note",
        "---  ---------  ---------",
        "#1   succeeded",
        "#12  failed     timed out",
      ].join("\n"),
    );
  });

  it("prints the header and its rule when there are no rows", () => {
    expect(formatTable(["id", "name"], [])).toBe("id  name\n--  ----");
  });
});

describe("TableWriter", () => {
  it("holds the rows back until the width sample is full, then writes each row as it comes", () => {
    const table = new TableWriter(["ID", "NAME"], { widthSample: 2 });
    expect(table.add(["a", "first"])).toBe("");
    expect(table.add(["bbb", "second"])).toBe("ID   NAME\na    first\nbbb  second\n");
    // A longer value after the sample only pushes its own line out of alignment.
    expect(table.add(["cccccc", "third"])).toBe("cccccc  third\n");
    expect(table.end()).toBe("");
  });

  it("writes the header and the rows held back at the end when fewer rows than the sample came", () => {
    const table = new TableWriter(["ID", "NAME"], { widthSample: 1_000 });
    expect(table.add(["a", "x"])).toBe("");
    expect(table.end()).toBe("ID  NAME\na   x\n");
  });
});
