import { showControlsInLine } from "../lib/terminal-text.js";

/**
 * An aligned plain-text table, written as its rows come: the column widths are taken from the first
 * `widthSample` rows (all of them by default), since later rows may not be read yet. A longer value
 * further down only pushes its own line out of alignment. Every cell is shown on one line, its control
 * characters, newlines and tabs as escapes: a cell may hold anything (an account's name).
 */
export class TableWriter {
  private readonly sample: (readonly string[])[] = [];
  private readonly headers: readonly string[];
  private widths: number[] | undefined;

  constructor(
    headers: readonly string[],
    private readonly options: { rule?: boolean; widthSample?: number } = {},
  ) {
    this.headers = headers.map(showControlsInLine);
  }

  /** Adds a row; returns the text ready to be written ("" while the widths are still being sampled). */
  add(row: readonly string[]): string {
    // Escaped before the widths are measured: the escapes are what takes room on the screen.
    const cells = row.map(showControlsInLine);
    if (this.widths) return this.line(cells, this.widths);
    this.sample.push(cells);
    return this.sample.length === this.options.widthSample ? this.start() : "";
  }

  /** The text still held back: the header and the sampled rows, when fewer rows than the sample came. */
  end(): string {
    return this.widths ? "" : this.start();
  }

  private start(): string {
    const widths = this.headers.map((header, column) =>
      Math.max(header.length, ...this.sample.map((cells) => (cells[column] ?? "").length)),
    );
    this.widths = widths;
    const rule = this.options.rule ? [widths.map((width) => "-".repeat(width))] : [];
    const lines = [this.headers, ...rule, ...this.sample].map((cells) => this.line(cells, widths));
    this.sample.length = 0;
    return lines.join("");
  }

  private line(cells: readonly string[], widths: readonly number[]): string {
    const last = cells.length - 1;
    const padded = cells.map((cell, column) => (column === last ? cell : cell.padEnd(widths[column] ?? 0)));
    return `${padded.join("  ").trimEnd()}\n`;
  }
}

/** Renders rows as an aligned plain-text table for a terminal: header, a rule of dashes, the rows. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const table = new TableWriter(headers, { rule: true });
  const text = rows.map((row) => table.add(row)).join("") + table.end();
  return text.slice(0, -1);
}

/** A timestamp for people: ISO, second precision, or "-" for none. */
export function formatTime(value: Date | null): string {
  return value === null ? "-" : `${value.toISOString().slice(0, 19).replace("T", " ")}Z`;
}
