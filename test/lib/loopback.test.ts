import { describe, expect, it } from "vitest";
import { isLoopbackHost } from "../../src/lib/loopback.js";

describe("isLoopbackHost", () => {
  it("knows loopback hosts as the URL parser writes them", () => {
    expect(
      ["localhost", "127.0.0.1", "127.255.255.254", "[::1]", "[::ffff:7f00:1]"].every(isLoopbackHost),
    ).toBe(true);
    expect(
      ["128.0.0.1", "[::2]", "[::ffff:a00:1]", "localhost.localdomain", "1127.0.0.1"].some(isLoopbackHost),
    ).toBe(false);
  });

  it.each([
    ["http://127.1:4010", true],
    ["http://LOCALHOST.:4010", true],
    ["http://[::ffff:127.0.0.1]:4010", true],
    ["http://[0:0:0:0:0:0:0:1]", true],
    ["http://127.0.0.1.example.com", false],
    ["http://localhost.example.com", false],
    ["http://0.0.0.0", false],
    ["http://[::ffff:10.0.0.1]", false],
  ])("takes the hostname of %s as loopback: %s", (url, loopback) => {
    expect(isLoopbackHost(new URL(url).hostname)).toBe(loopback);
  });
});
