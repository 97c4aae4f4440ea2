// The fault suite's global setup: a directory for the scenarios' results and captured outputs, and at
// the end the summary table and the search of every captured output for the token.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { FAULT_TOKEN, type FaultResult } from "./support.js";

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), "plugchat-sync-faults-"));
  project.provide("faultSuiteDir", dir);
  return () => {
    try {
      report(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function report(dir: string): void {
  const resultsFile = join(dir, "results.jsonl");
  const results: FaultResult[] = existsSync(resultsFile)
    ? readFileSync(resultsFile, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as FaultResult)
    : [];
  const total: FaultResult = {
    scenario: "total",
    faultsInjected: 0,
    runs: 0,
    accountsChecked: 0,
    mismatches: 0,
    duplicateDriftRows: 0,
  };
  for (const result of results) {
    total.faultsInjected += result.faultsInjected;
    total.runs += result.runs;
    total.accountsChecked += result.accountsChecked;
    total.mismatches += result.mismatches;
    total.duplicateDriftRows += result.duplicateDriftRows;
  }

  const outputsDir = join(dir, "outputs");
  const outputs = existsSync(outputsDir) ? readdirSync(outputsDir) : [];
  const leaks = outputs
    .map((file) => readFileSync(join(outputsDir, file), "utf8"))
    .filter((text) => text.includes(FAULT_TOKEN))
    .map((text) => text.slice(0, text.indexOf("\n")));

  const header = ["scenario", "faults injected", "runs", "accounts checked", "mismatches", "duplicate drift"];
  const rows = [...results, total].map((r) => [
    r.scenario,
    String(r.faultsInjected),
    String(r.runs),
    String(r.accountsChecked),
    String(r.mismatches),
    String(r.duplicateDriftRows),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  const table = [
    "",
    "Fault suite summary",
    line(header),
    rule,
    ...rows.slice(0, -1).map(line),
    rule,
    line(rows[rows.length - 1] ?? []),
    `token search: ${outputs.length} captured outputs (logs, errors, CLI output, stored rows), token found in ${leaks.length}`,
    "",
  ].join("\n");
  process.stdout.write(table);

  const problems: string[] = [];
  if (total.mismatches > 0) problems.push(`${total.mismatches} stored values differ from Plugchat's`);
  if (total.duplicateDriftRows > 0) problems.push(`${total.duplicateDriftRows} drift rows recorded twice`);
  if (leaks.length > 0) problems.push(`the token appeared in: ${leaks.join("; ")}`);
  if (problems.length > 0) {
    // Vitest reports an error thrown here but still exits 0, so the exit code is set directly.
    process.stderr.write(`fault suite FAILED: ${problems.join("; ")}\n`);
    process.exitCode = 1;
  }
}
