import { describe, expect, it } from "vitest";
import { driftChartSvg, lastDays } from "../../src/status/drift-chart.js";
import { SHOWN_CHARACTERS, text, untrusted } from "../../src/status/html.js";
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
