import { describe, expect, it } from "vitest";
import { driftChartSvg, lastDays } from "../../src/status/drift-chart.js";
import { SHOWN_CHARACTERS, text, untrusted } from "../../src/status/html.js";
import type { MismatchesPanel } from "../../src/status/queries.js";
import { renderStatusPage, type StatusData } from "../../src/status/render.js";

const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>\u202Egnp.exe`;
const NOW = new Date("2026-12-02T12:00:00Z");

function data(overrides: Partial<StatusData> = {}): StatusData {
  return {
    run: null,
    runs: [],
    drift: [],
    recentDrift: [],
    accounts: { tracked: 0, failing: { total: 0, accounts: [] }, missing: { total: 0, accounts: [] } },
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
          missing: { total: 1, accounts: [{ accountId: "acc-2", name: HOSTILE, missingSince: null }] },
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
