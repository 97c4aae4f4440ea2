// The status page as HTML, from the panels' data: pure. Readable without JavaScript (plain tables,
// a <meta> refresh inside <noscript>); /status.js only refreshes the figures in place. Every value goes
// through html.ts; nothing inline runs (see the CSP in routes.ts).
import { formatDuration } from "../progress/figures.js";
import { driftChartSvg, legendFields } from "./drift-chart.js";
import type { HealthReason } from "./health.js";
import { jsonValue, text, untrusted } from "./html.js";
import type {
  AccountsPanel,
  CurrentRun,
  DriftDay,
  DriftRow,
  HealthPanel,
  MismatchesPanel,
  RecentRun,
} from "./queries.js";
import { type RunLine, runLines } from "./run-lines.js";

export interface StatusData {
  health: HealthPanel;
  run: CurrentRun | null;
  runs: RecentRun[];
  drift: DriftDay[];
  recentDrift: DriftRow[];
  accounts: AccountsPanel;
  mismatches: MismatchesPanel;
  /** Job counts by state; null when this process has no queue to ask. */
  queue: Record<string, number> | null;
}

/** Seconds between refreshes of a page without JavaScript. */
const NOSCRIPT_REFRESH_SECONDS = 15;
/** Lines of the "Last runs" table (runs with nothing new folded into one). */
const RUN_LINES = 20;

export function renderStatusPage(data: StatusData, now: Date): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<noscript><meta http-equiv="refresh" content="${NOSCRIPT_REFRESH_SECONDS}"></noscript>
<title>plugchat-sync status</title>
<link rel="stylesheet" href="/status.css">
<script src="/status.js" defer></script>
</head>
<body>
<header><h1>plugchat-sync</h1><p class="muted">as of <time id="as-of" datetime="${text(now.toISOString())}">${text(formatTime(now))}</time></p></header>
<main>
${healthPanel(data.health, now)}
${currentRunPanel(data.run)}
${queuePanel(data.queue)}
${accountsSummary(data.accounts)}
${recentRunsPanel(data.runs)}
${mismatchesPanel(data.mismatches)}
${driftPanel(data.drift, now)}
${recentDriftPanel(data.recentDrift)}
${failingPanel(data.accounts)}
${missingPanel(data.accounts)}
${neverFoundPanel(data.accounts)}
</main>
<footer class="muted">JSON: <a href="/api/health">/api/health</a> · <a href="/api/run">/api/run</a> · <a href="/api/runs">/api/runs</a> · <a href="/api/drift">/api/drift</a> · <a href="/api/accounts">/api/accounts</a> · <a href="/api/mismatches">/api/mismatches</a> · <a href="/api/queue">/api/queue</a></footer>
</body>
</html>
`;
}

/** "Health at a glance": the overall state and why, then the facts it is judged on. */
function healthPanel(health: HealthPanel, now: Date): string {
  const reasons =
    health.reasons.length === 0
      ? `<p id="health-reasons">All is well.</p>`
      : `<ul id="health-reasons">${health.reasons.map(reasonItem).join("")}</ul>`;
  return `<section id="health" class="wide health ${text(health.state)}" data-state="${text(health.state)}"><h2>Health: <span id="health-state">${text(health.state)}</span></h2>
${reasons}
<dl class="figures">
<div><dt>last successful run</dt><dd id="last-success">${lastSuccess(health)}</dd></div>
<div><dt>next scheduled run</dt><dd id="next-run">${nextRun(health, now)}</dd></div>
<div><dt>schedule</dt><dd id="schedule">${schedule(health)}</dd></div>
<div><dt>live workers</dt><dd id="live-workers"${health.workers === null ? "" : ` title="${text(health.workers.join(", "))}"`}>${health.workers === null ? "unknown" : health.workers.length}</dd></div>
</dl></section>`;
}

function reasonItem(reason: HealthReason): string {
  return `<li class="${text(reason.state)}">${untrusted(reason.text)}</li>`;
}

function lastSuccess(health: HealthPanel): string {
  const success = health.lastSuccess;
  if (!success) return "none yet";
  return `#${success.runId}, <span data-health="age">${text(formatDuration(success.ageSeconds))}</span> ago <span class="muted">(${text(formatTime(new Date(success.finishedAt)))})</span>`;
}

function nextRun(health: HealthPanel, now: Date): string {
  if (!health.schedule) return health.workers === null ? "unknown" : "none: no schedule (SYNC_CRON=off)";
  const next = health.schedule.nextRunAt;
  if (next === null) return "unknown";
  const inSeconds = (Date.parse(next) - now.getTime()) / 1000;
  // Past due by more than a moment: no worker has taken the scheduled run (or the queue lost it).
  if (inSeconds < -5) {
    return `<span class="warning">overdue by ${text(formatDuration(-inSeconds))}</span> <span class="muted">(${text(formatTime(new Date(next)))})</span>`;
  }
  return `in <span data-health="next-in">${text(formatDuration(Math.max(0, inSeconds)))}</span> <span class="muted">(${text(formatTime(new Date(next)))})</span>`;
}

function schedule(health: HealthPanel): string {
  const planned = health.schedule;
  if (!planned) return health.workers === null ? "unknown" : "off";
  const every =
    planned.intervalSeconds === null ? "" : `, every ${text(formatDuration(planned.intervalSeconds))}`;
  return `<code>${untrusted(planned.cron)}</code> ${text(planned.timezone ?? "UTC")}${every}`;
}

function currentRunPanel(run: CurrentRun | null): string {
  if (!run) {
    return `<section id="run" data-run-id=""><h2>Run now</h2><p>No run is going on.</p></section>`;
  }
  const planned = run.accountsPlanned ?? run.accountsDone;
  const percent = run.fraction === null ? null : Math.min(run.fraction, 1) * 100;
  const progress =
    percent === null
      ? ""
      : `<progress id="run-progress" max="100" value="${percent.toFixed(1)}">${percent.toFixed(0)}%</progress>`;
  const batches = run.batchesPlanned === null ? "-" : `${run.batchesDone} of ${run.batchesPlanned}`;
  return `<section id="run" data-run-id="${run.runId}"><h2>Run now: #${run.runId} <span class="tag">${text(run.trigger)}</span></h2>
${progress}
<dl class="figures">
<div><dt>accounts</dt><dd><span data-field="accountsDone">${run.accountsDone}</span> of <span data-field="accountsPlanned">${planned}</span></dd></div>
<div><dt>batches</dt><dd data-field="batches">${text(batches)}</dd></div>
<div><dt>rate</dt><dd><span data-field="rate">${run.accountsPerSecond.toFixed(1)}</span> accounts/s</dd></div>
<div><dt>ETA</dt><dd data-field="eta">${run.etaSeconds === null ? "-" : text(formatDuration(run.etaSeconds))}</dd></div>
<div><dt>changed</dt><dd data-field="changed">${run.changed}</dd></div>
<div><dt>failed</dt><dd data-field="failed">${run.failed}</dd></div>
<div><dt>not found</dt><dd data-field="notFound">${run.notFound}</dd></div>
<div><dt>drift</dt><dd data-field="driftCount">${run.driftCount}</dd></div>
</dl>
<p class="muted">started ${text(formatTime(new Date(run.startedAt)))}, last heartbeat ${text(formatTime(new Date(run.heartbeatAt)))}</p>
${run.stale ? `<p class="warning" id="run-stale">No heartbeat for over ${text(formatDuration(run.staleAfterSeconds))}: its process died? The next run closes it as abandoned; or <code>plugchat-sync runs close ${run.runId}</code>.</p>` : ""}
</section>`;
}

function queuePanel(queue: Record<string, number> | null): string {
  if (!queue)
    return `<section id="queue"><h2>Queue</h2><p class="muted">not available in this process</p></section>`;
  const states = ["waiting", "active", "delayed", "failed"];
  const cells = states.map(
    (state) => `<div><dt>${text(state)}</dt><dd data-queue="${text(state)}">${queue[state] ?? 0}</dd></div>`,
  );
  return `<section id="queue"><h2>Queue (jobs)</h2><dl class="figures">${cells.join("")}</dl></section>`;
}

function accountsSummary(accounts: AccountsPanel): string {
  const pending =
    accounts.pending > 0
      ? `<div><dt>not fetched yet</dt><dd id="pending-count">${accounts.pending}</dd></div>`
      : "";
  return `<section id="accounts"><h2>Accounts</h2><dl class="figures">
<div><dt>tracked</dt><dd id="tracked">${accounts.tracked}</dd></div>
<div><dt>active</dt><dd id="active-count">${accounts.active}</dd></div>
<div><dt>inactive</dt><dd id="inactive-count">${accounts.inactive}</dd></div>
<div><dt>failing now</dt><dd id="failing-count">${accounts.failing.total}</dd></div>
<div><dt>missing on Plugchat</dt><dd id="missing-count">${accounts.missing.total}</dd></div>
<div><dt>never found</dt><dd id="never-found-count">${accounts.neverFound.total}</dd></div>
${pending}</dl>
<p class="muted">Active and inactive: Plugchat's <code>active</code>. Missing: 404 after Plugchat had answered for it; never found: 404 every time.</p></section>`;
}

function recentRunsPanel(runs: readonly RecentRun[]): string {
  const rows = runLines(runs, RUN_LINES).map(runLine);
  return `<section id="runs" class="wide"><h2>Last runs</h2>
<table><thead><tr><th>run</th><th>trigger</th><th>status</th><th>started</th><th>duration</th><th class="n">total</th><th class="n">changed</th><th class="n">unchanged</th><th class="n">not found</th><th class="n">failed</th><th class="n">drift</th><th>account source</th><th>error</th></tr></thead>
<tbody>${rows.join("\n") || '<tr><td colspan="13">no runs yet</td></tr>'}</tbody></table></section>`;
}

function runLine(line: RunLine): string {
  if (line.kind === "quiet") {
    const newest = line.runs[0] as RecentRun;
    const oldest = line.runs[line.runs.length - 1] as RecentRun;
    const notFound = newest.notFound > 0 ? ` (${newest.notFound} not found each)` : "";
    return `<tr class="quiet" data-runs="${oldest.runId}-${newest.runId}"><td>#${oldest.runId}–#${newest.runId}</td>
<td colspan="12">${line.runs.length} runs, nothing changed${notFound}: ${newest.accountsTotal} accounts each, ${text(formatTime(new Date(oldest.startedAt)))} to ${text(formatTime(new Date(newest.startedAt)))}</td></tr>`;
  }
  const run = line.run;
  return `<tr data-run-id="${run.runId}"${run.mark ? ` class="${text(run.mark)}"` : ""}>
<td>#${run.runId}</td><td>${text(run.trigger)}</td><td><span class="status ${text(run.status)}">${text(run.status)}</span>${runMark(run)}</td>
<td>${text(formatTime(new Date(run.startedAt)))}</td><td>${run.durationMs === null ? "-" : text(formatDuration(run.durationMs / 1000))}</td>
<td class="n">${run.accountsTotal}</td><td class="n">${run.changed}</td><td class="n">${run.unchanged}</td><td class="n">${run.notFound}</td><td class="n">${run.failed}</td><td class="n">${run.driftCount}</td>
<td>${sourceCell(run)}</td><td class="long">${errorCell(run)}</td></tr>`;
}

function runMark(run: RecentRun): string {
  if (run.mark === "stale")
    return ` <span class="tag warning" title="last heartbeat ${text(formatTime(new Date(run.heartbeatAt)))}">stale: no heartbeat</span>`;
  if (run.mark === "abandoned") return ` <span class="tag warning">abandoned</span>`;
  return "";
}

function sourceCell(run: RecentRun): string {
  const source = run.source;
  if (!source) return '<span class="none">-</span>';
  const changes =
    source.outcome === "applied" && (source.added || source.retracked || source.removed)
      ? ` <span class="muted">(+${(source.added ?? 0) + (source.retracked ?? 0)} −${source.removed ?? 0})</span>`
      : "";
  return `<span class="source ${text(source.outcome)}">${text(source.outcome)}</span>${changes}`;
}

function errorCell(run: RecentRun): string {
  const parts: string[] = [];
  if (run.error !== null) parts.push(untrusted(run.error));
  if (run.source?.error)
    parts.push(`account source ${text(run.source.outcome)}: ${untrusted(run.source.error)}`);
  return parts.join("<br>");
}

/**
 * Where Plugchat disagrees with the integrator's records (the account_mismatches view): counts by
 * field, then the first accounts; says apart "nothing to compare" and "nothing open".
 */
function mismatchesPanel(panel: MismatchesPanel): string {
  const title = `<h2>Out of sync with your records (<span id="mismatches-total">${panel.total}</span>)</h2>`;
  if (panel.accountsWithExpectations === 0) {
    return `<section id="mismatches" class="wide">${title}
<p class="muted" data-empty="no-expectations">Nothing to compare: no tracked account has expected values. Columns after the id in ACCOUNT_SOURCE_QUERY, named after synced fields (externalId, name, active, the webhooks), set them.</p></section>`;
  }
  const figures = panel.byField.map(
    (row) =>
      `<div><dt>${text(row.field)}</dt><dd data-mismatch-field="${text(row.field)}">${row.mismatches}</dd></div>`,
  );
  const unverified = `<div><dt>accounts not verified</dt><dd id="mismatches-unverified">${panel.unverified}</dd></div>`;
  const compared = `<p class="muted">${panel.accountsWithExpectations} tracked account${panel.accountsWithExpectations === 1 ? "" : "s"} with expected values; not verified: never synced, or failing now.</p>`;
  if (panel.total === 0) {
    return `<section id="mismatches" class="wide">${title}
<p data-empty="none-open">None open: every verified account agrees with your records.</p>
<dl class="figures">${unverified}</dl>${compared}</section>`;
  }
  const rows = panel.mismatches.map(
    (
      row,
    ) => `<tr><td class="id">${untrusted(row.accountId)}</td><td class="long">${untrusted(row.name)}</td><td>${text(row.field)}</td>
<td class="long">${jsonValue(row.expected)}</td><td class="long">${jsonValue(row.actual)}</td><td>${text(formatTime(new Date(row.since)))}</td></tr>`,
  );
  const hidden = panel.total - panel.mismatches.length;
  const more =
    hidden > 0
      ? `<p class="muted" id="mismatches-more">and ${hidden} more (plugchat-sync mismatches lists them all)</p>`
      : "";
  return `<section id="mismatches" class="wide">${title}
<dl class="figures">${figures.join("")}${unverified}</dl>
<table><thead><tr><th>account</th><th>name</th><th>field</th><th>expected</th><th>actual</th><th>since</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>${more}${compared}</section>`;
}

function driftPanel(drift: readonly DriftDay[], now: Date): string {
  const legend = legendFields(drift).map(
    ({ field, colour }) =>
      `<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${text(colour)}"/></svg> ${text(field)}</li>`,
  );
  const rows = [...drift]
    .reverse()
    .map(
      (row) =>
        `<tr><td>${text(row.day)}</td><td>${text(row.field)}</td><td class="n">${row.changes}</td><td class="n">${row.accounts}</td></tr>`,
    );
  return `<section id="drift" class="wide"><h2>Drift, last 30 days</h2>
<figure>${driftChartSvg(drift, now)}<figcaption><ul class="legend">${legend.join("")}</ul></figcaption></figure>
<details><summary>as a table</summary><table><thead><tr><th>day (UTC)</th><th>field</th><th class="n">changes</th><th class="n">accounts</th></tr></thead>
<tbody>${rows.join("\n") || '<tr><td colspan="4">no drift</td></tr>'}</tbody></table></details></section>`;
}

function recentDriftPanel(drift: readonly DriftRow[]): string {
  const rows = drift.map(
    (
      row,
    ) => `<tr><td>${text(formatTime(new Date(row.detectedAt)))}</td><td class="id">${untrusted(row.accountId)}</td>
<td class="long">${untrusted(row.name)}</td><td>${text(row.field)}</td><td class="long">${untrusted(row.oldValue)}</td><td class="long">${untrusted(row.newValue)}</td></tr>`,
  );
  return `<section id="recent-drift" class="wide"><h2>Latest drift</h2>
<table><thead><tr><th>detected</th><th>account</th><th>name</th><th>field</th><th>was</th><th>is now</th></tr></thead>
<tbody>${rows.join("\n") || '<tr><td colspan="6">no drift yet</td></tr>'}</tbody></table></section>`;
}

function failingPanel(accounts: AccountsPanel): string {
  const rows = accounts.failing.accounts.map(
    (
      account,
    ) => `<tr><td class="id">${untrusted(account.accountId)}</td><td class="long">${untrusted(account.name)}</td>
<td class="n">${account.consecutiveFailures}</td><td class="long">${untrusted(account.lastError)}</td>
<td>${account.failingSince === null ? "unknown" : text(formatTime(new Date(account.failingSince)))}</td>
<td>${account.lastSyncedAt === null ? "never" : text(formatTime(new Date(account.lastSyncedAt)))}</td>
<td>${account.lastAttemptAt === null ? "-" : text(formatTime(new Date(account.lastAttemptAt)))}</td></tr>`,
  );
  return `<section id="failing" class="wide"><h2>Failing now (${accounts.failing.total})</h2>
<table><thead><tr><th>account</th><th>name</th><th class="n">runs failed in a row</th><th>last error</th><th>failing since</th><th>last success</th><th>last attempt</th></tr></thead>
<tbody>${rows.join("\n") || '<tr><td colspan="7">none</td></tr>'}</tbody></table>${more(accounts.failing)}</section>`;
}

function missingPanel(accounts: AccountsPanel): string {
  const rows = accounts.missing.accounts.map(
    (
      account,
    ) => `<tr><td class="id">${untrusted(account.accountId)}</td><td class="long">${untrusted(account.name)}</td>
<td>${account.missingSince === null ? "-" : text(formatTime(new Date(account.missingSince)))}</td>
<td>${account.lastSyncedAt === null ? "-" : text(formatTime(new Date(account.lastSyncedAt)))}</td></tr>`,
  );
  return `<section id="missing" class="wide"><h2>Missing on Plugchat (${accounts.missing.total})</h2>
<p class="muted">Plugchat answers 404 for these accounts, after it had answered with their data: deleted there?</p>
<table><thead><tr><th>account</th><th>name</th><th>missing since</th><th>last found</th></tr></thead>
<tbody>${rows.join("\n") || '<tr><td colspan="4">none</td></tr>'}</tbody></table>${more(accounts.missing)}</section>`;
}

function neverFoundPanel(accounts: AccountsPanel): string {
  const rows = accounts.neverFound.accounts.map(
    (account) =>
      `<tr><td class="id">${untrusted(account.accountId)}</td><td>${account.missingSince === null ? "-" : text(formatTime(new Date(account.missingSince)))}</td></tr>`,
  );
  return `<section id="never-found" class="wide"><h2>Never found on Plugchat (${accounts.neverFound.total})</h2>
<p class="muted">Plugchat has answered 404 for these ids every time: ids it never knew (a typo, another tenant's account?). <code>plugchat-sync accounts remove</code> stops tracking them.</p>
<table><thead><tr><th>account</th><th>404 since</th></tr></thead>
<tbody>${rows.join("\n") || '<tr><td colspan="2">none</td></tr>'}</tbody></table>${more(accounts.neverFound)}</section>`;
}

function more(list: { total: number; accounts: readonly unknown[] }): string {
  const hidden = list.total - list.accounts.length;
  return hidden > 0
    ? `<p class="muted">and ${hidden} more: see /api/accounts or account_current_state</p>`
    : "";
}

/** UTC, to the second: the same moment whoever opens the page. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
