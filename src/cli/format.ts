/** Renders rows as an aligned plain-text table for a terminal. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** A timestamp for people: ISO, second precision, or "-" for none. */
export function formatTime(value: Date | null): string {
  return value === null ? "-" : `${value.toISOString().slice(0, 19).replace("T", " ")}Z`;
}
