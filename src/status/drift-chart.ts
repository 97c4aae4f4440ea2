// The drift chart, drawn on the server as SVG: one stacked bar per UTC day, a colour per field. Pure
// (data in, markup out); no script, no external resource, so it renders under the page's strict CSP.
import { EXISTS_FIELD, SYNCED_FIELDS } from "../sync/drift.js";
import { text } from "./html.js";
import type { DriftDay } from "./queries.js";

const FIELDS: readonly string[] = [...SYNCED_FIELDS, EXISTS_FIELD];
// Colour-blind-friendly palette (Okabe-Ito and Tol), one per field in FIELDS' order.
const COLOURS = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#F0E442",
  "#882255",
  "#000000",
];
const OTHER_COLOUR = "#999999";

const WIDTH = 760;
const HEIGHT = 240;
const MARGIN = { top: 16, right: 12, bottom: 28, left: 44 };

function colourOf(field: string): string {
  const index = FIELDS.indexOf(field);
  return index === -1 ? OTHER_COLOUR : (COLOURS[index] ?? OTHER_COLOUR);
}

/** The `days` UTC dates ending with `today` (YYYY-MM-DD), oldest first. */
export function lastDays(today: Date, days: number): string[] {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Array.from({ length: days }, (_, i) =>
    new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}

export function driftChartSvg(rows: readonly DriftDay[], today: Date, days = 30): string {
  const dates = lastDays(today, days);
  const byDay = new Map<string, DriftDay[]>(dates.map((day) => [day, []]));
  for (const row of rows) byDay.get(row.day)?.push(row);
  const totals = dates.map((day) => (byDay.get(day) ?? []).reduce((sum, row) => sum + row.changes, 0));
  const max = Math.max(...totals, 1);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / dates.length;
  const barWidth = Math.max(slot - 3, 1);
  const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight;

  const bars = dates.flatMap((day, i) => {
    const x = MARGIN.left + i * slot + 1.5;
    let stacked = 0;
    const sorted = [...(byDay.get(day) ?? [])].sort((a, b) => order(a.field) - order(b.field));
    return sorted.map((row) => {
      const top = y(stacked + row.changes);
      const height = y(stacked) - top;
      stacked += row.changes;
      const label = `${day} ${row.field}: ${row.changes} changes, ${row.accounts} accounts`;
      return `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="${colourOf(row.field)}"><title>${text(label)}</title></rect>`;
    });
  });
  const ticks = dates
    .map((day, i) => ({ day, i }))
    .filter(({ i }) => i % 5 === (dates.length - 1) % 5)
    .map(
      ({ day, i }) =>
        `<text x="${(MARGIN.left + i * slot + slot / 2).toFixed(1)}" y="${HEIGHT - 8}" text-anchor="middle">${text(day.slice(5))}</text>`,
    );
  const axis = [
    `<line x1="${MARGIN.left}" y1="${y(0)}" x2="${WIDTH - MARGIN.right}" y2="${y(0)}" stroke="#666"/>`,
    `<text x="${MARGIN.left - 6}" y="${y(max) + 4}" text-anchor="end">${max}</text>`,
    `<text x="${MARGIN.left - 6}" y="${y(0) + 4}" text-anchor="end">0</text>`,
  ];
  const total = totals.reduce((sum, value) => sum + value, 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="drift-chart-title" font-family="sans-serif" font-size="11" fill="#333">`,
    `<title id="drift-chart-title">${text(`Drift per day over the last ${days} days: ${total} changes`)}</title>`,
    ...axis,
    ...bars,
    ...ticks,
    "</svg>",
  ].join("\n");
}

/** The fields the chart shows, with their colours, for the legend. */
export function legendFields(rows: readonly DriftDay[]): { field: string; colour: string }[] {
  const present = [...new Set(rows.map((row) => row.field))].sort((a, b) => order(a) - order(b));
  return present.map((field) => ({ field, colour: colourOf(field) }));
}

function order(field: string): number {
  const index = FIELDS.indexOf(field);
  return index === -1 ? FIELDS.length : index;
}
