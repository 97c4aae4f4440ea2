// The page's stylesheet and script, served by the same server (the CSP allows 'self' only, nothing
// inline). The script is optional: without it the page still reads, and refreshes by <meta>.
import { formatDuration } from "../progress/figures.js";

export const STATUS_CSS = `
:root { color-scheme: light; font-family: system-ui, sans-serif; color: #222; background: #fafafa; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8rem 1rem; min-width: 0; }
section.wide { grid-column: 1 / -1; overflow-x: auto; }
.muted, .none { color: #777; font-size: .9em; }
.tag { font-size: .8em; background: #eef; border-radius: 3px; padding: 0 .3em; }
dl.figures { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: .5rem 0; }
dl.figures div { min-width: 6rem; }
dt { color: #666; font-size: .85em; }
dd { margin: 0; font-size: 1.2em; font-variant-numeric: tabular-nums; }
progress { width: 100%; height: 1.1rem; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
td, bdi { unicode-bidi: isolate; }
td.long { overflow-wrap: anywhere; max-width: 28rem; }
code { font-family: ui-monospace, monospace; font-size: .95em; }
td.id { font-family: ui-monospace, monospace; overflow-wrap: anywhere; max-width: 16rem; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.status.succeeded { color: #1a7f37; } .status.partial { color: #9a6700; }
.status.failed { color: #cf222e; } .status.running { color: #0969da; }
.status.interrupted { color: #57606a; }
figure { margin: 0; } svg { max-width: 100%; height: auto; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .3rem 1rem; padding: 0; margin: .3rem 0; font-size: .85em; }
footer { margin-top: 1rem; }
section.health { border-left-width: 6px; }
.health.ok { border-left-color: #1a7f37; } .health.degraded { border-left-color: #bf8700; }
.health.failing { border-left-color: #cf222e; }
.health.ok #health-state { color: #1a7f37; } .health.degraded #health-state { color: #9a6700; }
.health.failing #health-state { color: #cf222e; }
#health-reasons { margin: .3rem 0; } #health-reasons li.failing { color: #cf222e; }
#health-reasons li.degraded { color: #9a6700; }
.warning { color: #9a6700; } .tag.warning { background: #fff1c2; color: #7d4e00; }
.source.refused, .source.skipped { color: #cf222e; font-weight: 600; }
tr.quiet td { color: #777; font-style: italic; }
tr.stale td, tr.abandoned td { background: #fff8e1; }
`;

export const STATUS_JS = `"use strict";
// Refreshes the health, run and queue figures from /api/health, /api/run and /api/queue every few
// seconds; reloads the
// page when a run starts or ends, and every minute, for the other panels (the mismatches with your
// records change only when a run closes). Text only (textContent).
(function () {
  var FIGURES_MS = 3000, RELOAD_MS = 60000;
  function get(path) {
    return fetch(path, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.json();
    });
  }
  function set(selector, value) {
    var element = document.querySelector(selector);
    if (element) element.textContent = String(value);
  }
  // The server's own formatDuration, so that the ETA reads the same before and after a refresh.
  ${formatDuration.toString()}
  function eta(seconds) {
    return seconds === null ? "-" : formatDuration(seconds);
  }
  function refreshHealth(health) {
    var section = document.getElementById("health");
    if (!section) return;
    section.className = "wide health " + health.state;
    section.setAttribute("data-state", health.state);
    set("#health-state", health.state);
    var shown = document.getElementById("health-reasons");
    var reasons = document.createElement(health.reasons.length ? "ul" : "p");
    reasons.id = "health-reasons";
    if (!health.reasons.length) reasons.textContent = "All is well.";
    health.reasons.forEach(function (reason) {
      var item = document.createElement("li");
      item.className = reason.state;
      item.textContent = reason.text;
      reasons.appendChild(item);
    });
    if (shown) shown.replaceWith(reasons);
    if (health.lastSuccess) set('[data-health="age"]', formatDuration(health.lastSuccess.ageSeconds));
    if (health.schedule && health.schedule.nextRunAt) {
      set('[data-health="next-in"]', formatDuration(Math.max(0, (Date.parse(health.schedule.nextRunAt) - Date.now()) / 1000)));
    }
    if (health.workers) set("#live-workers", health.workers.length);
  }
  function refresh() {
    get("/api/health").then(refreshHealth).catch(function () {});
    var section = document.getElementById("run");
    var shown = section ? section.getAttribute("data-run-id") : "";
    get("/api/run").then(function (body) {
      var run = body.run;
      set("#as-of", new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC");
      if (String(run ? run.runId : "") !== shown) { location.reload(); return; }
      if (!run) return;
      set('[data-field="accountsDone"]', run.accountsDone);
      set('[data-field="accountsPlanned"]', run.accountsPlanned === null ? run.accountsDone : run.accountsPlanned);
      set('[data-field="batches"]', run.batchesPlanned === null ? "-" : run.batchesDone + " of " + run.batchesPlanned);
      set('[data-field="rate"]', run.accountsPerSecond.toFixed(1));
      set('[data-field="eta"]', eta(run.etaSeconds));
      ["changed", "failed", "notFound", "driftCount"].forEach(function (key) {
        set('[data-field="' + key + '"]', run[key]);
      });
      var bar = document.getElementById("run-progress");
      if (bar && run.fraction !== null) bar.value = Math.min(run.fraction, 1) * 100;
    }).catch(function () {});
    get("/api/queue").then(function (body) {
      if (!body.queue) return;
      Object.keys(body.queue).forEach(function (state) {
        set('[data-queue="' + state + '"]', body.queue[state]);
      });
    }).catch(function () {});
  }
  setInterval(refresh, FIGURES_MS);
  setTimeout(function () { location.reload(); }, RELOAD_MS);
})();
`;
