import { describe, expect, it } from "vitest";
import { driftChartSvg, lastDays } from "../../src/status/drift-chart.js";
import { SHOWN_CHARACTERS, text, untrusted } from "../../src/status/html.js";
import type { AccountsPanel, MismatchesPanel, RecentRun } from "../../src/status/queries.js";
import { renderStatusPage, type StatusData } from "../../src/status/render.js";

const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>\u202Egnp.exe`;
const NOW = new Date("2026-12-02T12:00:00Z");

const NO_ACCOUNTS: AccountsPanel = {
  tracked: 0,
  active: 0,
  inactive: 0,
  pending: 0,
  failing: { total: 0, accounts: [] },
  missing: { total: 0, accounts: [] },
  neverFound: { total: 0, accounts: [] },
};

function data(overrides: Partial<StatusData> = {}): StatusData {
  return {
    health: { state: "ok", reasons: [], lastSuccess: null, schedule: null, workers: null },
    run: null,
    runs: [],
    drift: [],
    recentDrift: [],
    accounts: NO_ACCOUNTS,
    mismatches: { accountsWithExpectations: 0, total: 0, byField: [], unverified: 0, mismatches: [] },
    queue: null,
    ...overrides,
  };
}

describe("escaping", () => {
  it("turns every markup character into text, in content and attributes alike", () => {
    expect(text(HOSTILE)).not.toMatch(/[<>"']/);
    expect(text("a&b")).toBe("a&amp;b");
    expect(untrusted(HOSTILE)).toMatch(/^<bdi>[^<>]*<\/bdi>$/);
    expect(untrusted(null)).toContain("-");
  });
});

describe("renderStatusPage", () => {
  it("shows hostile names, errors and URLs as text only: no tag or attribute of theirs survives", () => {
    const url = `https://hooks.example/${"a".repeat(2_000)}?q="><script>`;
    const html = renderStatusPage(
      data({
        accounts: {
          ...NO_ACCOUNTS,
          tracked: 2,
          failing: {
            total: 1,
            accounts: [
              {
                accountId: "acc-1",
                name: HOSTILE,
                consecutiveFailures: 3,
                lastError: HOSTILE,
                failingSince: null,
                lastSyncedAt: null,
                lastAttemptAt: NOW.toISOString(),
              },
            ],
          },
          missing: {
            total: 1,
            accounts: [{ accountId: "acc-2", name: HOSTILE, missingSince: null, lastSyncedAt: null }],
          },
        },
        recentDrift: [
          {
            accountId: "acc-1",
            name: HOSTILE,
            field: "onReceiveMessage",
            oldValue: null,
            newValue: url,
            detectedAt: NOW.toISOString(),
          },
        ],
      }),
      NOW,
    );
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img");
    expect(html).not.toContain('"><script>');
    expect(html.match(/<script\b/g)).toEqual(["<script"]); // /status.js only
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain(`<bdi title="${text(url)}">${text(url.slice(0, SHOWN_CHARACTERS))}…</bdi>`);
    expect(html).toContain(`(${url.length} characters)`);
    expect(html).not.toMatch(/<[^>]*\son[a-z]+=/i);
    expect(html).not.toMatch(/<[^>]*\sstyle=/i);
  });

  it("shows when each failing account's spell began, its last success, and unknown when not recorded", () => {
    const failingAccount = (accountId: string, failingSince: string | null) => ({
      accountId,
      name: null,
      consecutiveFailures: 2,
      lastError: "HTTP 500",
      failingSince,
      lastSyncedAt: "2026-12-01T08:00:00.000Z",
      lastAttemptAt: "2026-12-02T11:45:00.000Z",
    });
    const html = renderStatusPage(
      data({
        accounts: {
          ...NO_ACCOUNTS,
          tracked: 2,
          failing: {
            total: 2,
            accounts: [
              failingAccount("acc-known", "2026-12-02T11:30:00.000Z"),
              failingAccount("acc-older", null),
            ],
          },
          missing: { total: 0, accounts: [] },
        },
      }),
      NOW,
    );
    const failing = html.slice(html.indexOf('<section id="failing"'), html.indexOf('<section id="missing"'));
    expect(failing).toContain("<th>failing since</th><th>last success</th><th>last attempt</th>");
    const known = failing.slice(failing.indexOf("acc-known"), failing.indexOf("acc-older"));
    expect(known).toMatch(
      /<td>2026-12-02 11:30:00 UTC<\/td>\n<td>2026-12-01 08:00:00 UTC<\/td>\n<td>2026-12-02 11:45:00 UTC<\/td>/,
    );
    expect(failing.slice(failing.indexOf("acc-older"))).toMatch(
      /<td>unknown<\/td>\n<td>2026-12-01 08:00:00 UTC<\/td>/,
    );
  });

  it("refreshes without JavaScript, and says when no run is going", () => {
    const html = renderStatusPage(data(), NOW);
    expect(html).toContain('<noscript><meta http-equiv="refresh"');
    expect(html).toContain("No run is going on.");
    expect(html).toContain("not available in this process");
  });
});

function recentRun(runId: number, overrides: Partial<RecentRun> = {}): RecentRun {
  const startedAt = new Date(NOW.getTime() - (100 - runId) * 10_000).toISOString();
  return {
    runId,
    trigger: "schedule",
    status: "succeeded",
    startedAt,
    finishedAt: startedAt,
    durationMs: 2_000,
    accountsTotal: 50,
    changed: 0,
    unchanged: 50,
    failed: 0,
    notFound: 0,
    driftCount: 0,
    error: null,
    heartbeatAt: startedAt,
    source: null,
    mark: null,
    ...overrides,
  };
}

/** The HTML of one section of the page, by its id. */
function sectionOf(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  return html.slice(start, html.indexOf("</section>", start));
}

describe("health at a glance", () => {
  it("comes first, with the state, its reasons as text, the last success and its age, the next run, the schedule and the live workers", () => {
    const html = renderStatusPage(
      data({
        health: {
          state: "failing",
          reasons: [
            { state: "failing", text: `the last run (#9) failed: ${HOSTILE}` },
            { state: "degraded", text: "3 of 20 tracked accounts are failing (15%)" },
          ],
          lastSuccess: { runId: 8, finishedAt: "2026-12-02T11:58:00.000Z", ageSeconds: 120 },
          schedule: {
            cron: "*/10 * * * * *",
            timezone: "America/Sao_Paulo",
            intervalSeconds: 10,
            nextRunAt: "2026-12-02T12:00:07.000Z",
          },
          workers: ["host-a:1", "host-b:<2>"],
        },
      }),
      NOW,
    );
    expect(html.indexOf('<section id="health"')).toBeLessThan(html.indexOf('<section id="run"'));
    const health = sectionOf(html, "health");
    expect(health).toContain('class="wide health failing" data-state="failing"');
    expect(health).toContain('<span id="health-state">failing</span>');
    expect(health).toContain('<li class="failing"><bdi>the last run (#9) failed: &lt;script&gt;');
    expect(health).not.toContain("<script>");
    expect(health).toContain(
      '<li class="degraded"><bdi>3 of 20 tracked accounts are failing (15%)</bdi></li>',
    );
    expect(health).toMatch(
      /#8, <span data-health="age">2 min 00 s<\/span> ago <span class="muted">\(2026-12-02 11:58:00 UTC\)/,
    );
    expect(health).toMatch(
      /in <span data-health="next-in">7 s<\/span> <span class="muted">\(2026-12-02 12:00:07 UTC\)/,
    );
    expect(health).toContain("<code><bdi>*/10 * * * * *</bdi></code> America/Sao_Paulo, every 10 s");
    expect(health).toContain('<dd id="live-workers" title="host-a:1, host-b:&lt;2&gt;">2</dd>');
  });

  it("says all is well without reasons, none yet before any success, off without a schedule, a next run overdue, unknown without the queues", () => {
    const ok = sectionOf(
      renderStatusPage(
        data({ health: { state: "ok", reasons: [], lastSuccess: null, schedule: null, workers: ["w"] } }),
        NOW,
      ),
      "health",
    );
    expect(ok).toContain('<p id="health-reasons">All is well.</p>');
    expect(ok).toContain('<dd id="last-success">none yet</dd>');
    expect(ok).toContain('<dd id="next-run">none: no schedule (SYNC_CRON=off)</dd>');
    expect(ok).toContain('<dd id="schedule">off</dd>');
    const overdue = sectionOf(
      renderStatusPage(
        data({
          health: {
            state: "ok",
            reasons: [],
            lastSuccess: null,
            schedule: {
              cron: "0 * * * *",
              timezone: null,
              intervalSeconds: 3600,
              nextRunAt: "2026-12-02T11:00:00.000Z",
            },
            workers: ["w"],
          },
        }),
        NOW,
      ),
      "health",
    );
    expect(overdue).toContain('<dd id="next-run"><span class="warning">overdue by 1 h 00 min</span>');
    expect(overdue).toContain("<code><bdi>0 * * * *</bdi></code> UTC, every 1 h 00 min");
    const unknown = sectionOf(renderStatusPage(data(), NOW), "health");
    expect(unknown).toContain('<dd id="next-run">unknown</dd>');
    expect(unknown).toContain('<dd id="live-workers">unknown</dd>');
  });
});

describe("the last runs", () => {
  const rowsOf = (runs: RecentRun[]) =>
    sectionOf(renderStatusPage(data({ runs }), NOW), "runs")
      .split("<tbody>")[1]
      ?.split("</tr>")
      .filter((row) => row.includes("<tr")) ?? [];

  it("folds runs with nothing new into one line, and keeps the run with drift, a failure or a source change on its own", () => {
    const runs = [
      ...[20, 19, 18, 17].map((id) => recentRun(id)),
      recentRun(16, { changed: 1, unchanged: 49, driftCount: 2 }),
      ...[15, 14, 13].map((id) => recentRun(id)),
      recentRun(12, { notFound: 1, unchanged: 49 }),
      recentRun(11, { notFound: 1, unchanged: 49 }),
      recentRun(10, { source: { outcome: "applied", error: null, added: 2, retracked: 0, removed: 0 } }),
      recentRun(9, { source: { outcome: "applied", error: null, added: 0, retracked: 0, removed: 0 } }),
      recentRun(8, { status: "partial", failed: 1, unchanged: 49 }),
    ];
    const rows = rowsOf(runs);
    expect(rows).toHaveLength(7);
    expect(rows[0]).toContain('data-runs="17-20"');
    expect(rows[0]).toContain("4 runs, nothing changed: 50 accounts each");
    expect(rows[1]).toContain('data-run-id="16"');
    expect(rows[2]).toContain("3 runs, nothing changed");
    // A new account not found starts a new line.
    expect(rows[3]).toContain("2 runs, nothing changed (1 not found each)");
    expect(rows[4]).toContain('data-run-id="10"');
    expect(rows[4]).toContain(
      '<span class="source applied">applied</span> <span class="muted">(+2 −0)</span>',
    );
    // A run alone is shown as it is, not as a fold of one.
    expect(rows[5]).toContain('data-run-id="9"');
    expect(rows[6]).toContain('data-run-id="8"');
  });

  it("shows a refused or skipped account source and its error, even on a run that succeeded", () => {
    const rows = rowsOf([
      recentRun(3, {
        source: {
          outcome: "refused",
          error: `would remove 40 of 80 <ids>`,
          added: 0,
          retracked: 0,
          removed: 0,
        },
      }),
      recentRun(2, {
        source: {
          outcome: "skipped",
          error: "MariaDB at 127.0.0.1:3306 refused the connection",
          added: null,
          retracked: null,
          removed: null,
        },
      }),
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('<span class="status succeeded">succeeded</span>');
    expect(rows[0]).toContain('<span class="source refused">refused</span>');
    expect(rows[0]).toContain("account source refused: <bdi>would remove 40 of 80 &lt;ids&gt;</bdi>");
    expect(rows[1]).toContain('<span class="source skipped">skipped</span>');
    expect(rows[1]).toContain(
      "account source skipped: <bdi>MariaDB at 127.0.0.1:3306 refused the connection</bdi>",
    );
  });

  it("marks a running run without heartbeat as stale, and a run closed as abandoned as such", () => {
    const rows = rowsOf([
      recentRun(5, { status: "running", finishedAt: null, durationMs: null, mark: "stale" }),
      recentRun(4, {
        status: "failed",
        error: "abandoned: its process stopped sending heartbeats",
        mark: "abandoned",
      }),
    ]);
    expect(rows[0]).toContain('<tr data-run-id="5" class="stale">');
    expect(rows[0]).toMatch(
      /<span class="status running">running<\/span> <span class="tag warning" title="last heartbeat [^"]+">stale: no heartbeat<\/span>/,
    );
    expect(rows[1]).toContain('<tr data-run-id="4" class="abandoned">');
    expect(rows[1]).toContain('<span class="tag warning">abandoned</span>');
  });
});

describe("the run going on", () => {
  const going = (stale: boolean): StatusData["run"] => ({
    runId: 7,
    trigger: "schedule",
    startedAt: "2026-12-02T11:50:00.000Z",
    heartbeatAt: stale ? "2026-12-02T11:51:00.000Z" : "2026-12-02T11:59:50.000Z",
    accountsDone: 10,
    accountsPlanned: 100,
    batchesDone: 1,
    batchesPlanned: 10,
    changed: 0,
    unchanged: 10,
    failed: 0,
    notFound: 0,
    driftCount: 0,
    accountsPerSecond: 1,
    etaSeconds: 90,
    fraction: 0.1,
    stale,
    staleAfterSeconds: 300,
  });

  it("says a run without heartbeat past the abandon threshold may be dead, and how to close it", () => {
    const stale = sectionOf(renderStatusPage(data({ run: going(true) }), NOW), "run");
    expect(stale).toContain(
      '<p class="warning" id="run-stale">No heartbeat for over 5 min 00 s: its process died?',
    );
    expect(stale).toContain("<code>plugchat-sync runs close 7</code>");
    expect(sectionOf(renderStatusPage(data({ run: going(false) }), NOW), "run")).not.toContain("run-stale");
  });
});

describe("the accounts", () => {
  it("counts active and inactive, and tells accounts missing after being seen from ids never found", () => {
    const html = renderStatusPage(
      data({
        accounts: {
          ...NO_ACCOUNTS,
          tracked: 10,
          active: 6,
          inactive: 2,
          pending: 0,
          missing: {
            total: 1,
            accounts: [
              {
                accountId: "acc-gone",
                name: "Loja",
                missingSince: "2026-12-02T11:00:00.000Z",
                lastSyncedAt: "2026-12-01T10:00:00.000Z",
              },
            ],
          },
          neverFound: {
            total: 1,
            accounts: [
              {
                accountId: HOSTILE,
                name: null,
                missingSince: "2026-12-02T10:00:00.000Z",
                lastSyncedAt: null,
              },
            ],
          },
        },
      }),
      NOW,
    );
    const summary = sectionOf(html, "accounts");
    expect(summary).toContain('<dd id="active-count">6</dd>');
    expect(summary).toContain('<dd id="inactive-count">2</dd>');
    expect(summary).toContain('<dd id="missing-count">1</dd>');
    expect(summary).toContain('<dd id="never-found-count">1</dd>');
    expect(summary).not.toContain("pending-count");
    const missing = sectionOf(html, "missing");
    expect(missing).toContain("acc-gone");
    expect(missing).toContain("<td>2026-12-01 10:00:00 UTC</td>");
    const never = sectionOf(html, "never-found");
    expect(never).toContain("Never found on Plugchat (1)");
    expect(never).toContain("&lt;script&gt;");
    expect(never).not.toContain("acc-gone");
    expect(missing).not.toContain("&lt;script&gt;");
  });
});

describe("the mismatches panel", () => {
  const panelOf = (html: string) =>
    html.slice(
      html.indexOf('<section id="mismatches"'),
      html.indexOf("</section>", html.indexOf('<section id="mismatches"')),
    );
  const mismatch = (accountId: string, overrides: Partial<MismatchesPanel["mismatches"][number]> = {}) => ({
    accountId,
    name: "Loja",
    field: "onReceiveMessage",
    expected: "https://app.example/hook" as string | null,
    actual: null as string | null,
    since: "2026-12-02T11:30:00.000Z",
    runId: 3,
    ...overrides,
  });

  it("shows hostile names and values as text, quoted as JSON so that null and the empty string differ", () => {
    const long = `https://hooks.example/${"a".repeat(300)}"><script>alert(3)</script>`;
    const html = renderStatusPage(
      data({
        mismatches: {
          accountsWithExpectations: 3,
          total: 3,
          byField: [
            { field: "name", mismatches: 1 },
            { field: "onReceiveMessage", mismatches: 2 },
          ],
          unverified: 1,
          mismatches: [
            mismatch("acc-1", { name: HOSTILE, field: "name", expected: HOSTILE, actual: "Loja" }),
            mismatch("acc-2", { expected: "", actual: null }),
            mismatch("acc-3", { expected: long, actual: " " }),
          ],
        },
      }),
      NOW,
    );
    const panel = panelOf(html);
    expect(panel).toContain("Out of sync with your records");
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img");
    expect(html.match(/<script\b/g)).toEqual(["<script"]); // /status.js only
    expect(panel).not.toMatch(/<[^>]*\son[a-z]+=/i);
    // The expected name as the CLI shows it: JSON, its bidi override an escape, then HTML-escaped.
    expect(panel).toContain(text(JSON.stringify(HOSTILE).replace("\u202E", "\\u202e")));
    expect(panel).not.toContain('\u202E"');
    const rows = panel.split("<tr>").slice(2);
    expect(rows[1]).toContain(
      '<td class="long"><code><bdi>&quot;&quot;</bdi></code></td><td class="long"><code class="none">null</code></td>',
    );
    expect(rows[2]).toContain(`(${long.length} characters)`);
    expect(rows[2]).toContain(`title="${text(long)}"`);
    expect(rows[2]).toContain("<bdi>&quot; &quot;</bdi>");
    expect(rows[0]).toContain("2026-12-02 11:30:00 UTC");
    expect(panel).toContain('<dd data-mismatch-field="name">1</dd>');
    expect(panel).toContain('<dd data-mismatch-field="onReceiveMessage">2</dd>');
    expect(panel).toContain('<dd id="mismatches-unverified">1</dd>');
    expect(panel).not.toContain("more");
  });

  it("says how many more there are than listed, and where to see them all", () => {
    const html = renderStatusPage(
      data({
        mismatches: {
          accountsWithExpectations: 80,
          total: 75,
          byField: [{ field: "active", mismatches: 75 }],
          unverified: 0,
          mismatches: [mismatch("acc-1", { field: "active", expected: "true", actual: "false" })],
        },
      }),
      NOW,
    );
    expect(panelOf(html)).toContain("and 74 more (plugchat-sync mismatches lists them all)");
  });

  it("tells no expected values at all apart from none open", () => {
    const none = panelOf(renderStatusPage(data(), NOW));
    expect(none).toContain('data-empty="no-expectations"');
    expect(none).toContain("no tracked account has expected values");
    const agreed = panelOf(
      renderStatusPage(
        data({
          mismatches: { accountsWithExpectations: 5, total: 0, byField: [], unverified: 2, mismatches: [] },
        }),
        NOW,
      ),
    );
    expect(agreed).toContain('data-empty="none-open"');
    expect(agreed).toContain("every verified account agrees with your records");
    expect(agreed).toContain('<dd id="mismatches-unverified">2</dd>');
    expect(agreed).toContain("5 tracked accounts with expected values");
    expect(agreed).not.toContain("<table>");
  });
});

describe("the drift chart", () => {
  it("has one bar segment per day and field, stacked, over the last 30 days, with the day's counts", () => {
    expect(lastDays(NOW, 30)).toHaveLength(30);
    expect(lastDays(NOW, 30).at(-1)).toBe("2026-12-02");
    expect(lastDays(NOW, 30)[0]).toBe("2026-11-03");
    const svg = driftChartSvg(
      [
        { day: "2026-12-01", field: "name", changes: 4, accounts: 3 },
        { day: "2026-12-01", field: "active", changes: 6, accounts: 6 },
        { day: "2026-11-20", field: "exists", changes: 1, accounts: 1 },
        { day: "2026-10-01", field: "name", changes: 99, accounts: 99 }, // older than 30 days
      ],
      NOW,
    );
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain("2026-12-01 name: 4 changes, 3 accounts");
    expect(svg).toContain(">10</text>"); // the tallest bar, 4 + 6
    expect(svg).toContain("last 30 days: 11 changes");
    expect(svg).not.toContain("<script");
  });
});
