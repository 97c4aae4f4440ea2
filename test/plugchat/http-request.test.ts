import { describe, expect, it } from "vitest";
import { judgeRedirect } from "../../src/plugchat/http-request.js";

const requested = new URL("https://plugchat.example/integrator/account/a/");
const from = requested;

describe("judging a redirect", () => {
  it("is no redirect without a redirect status or a Location", () => {
    expect(judgeRedirect(200, "/x", from, requested, 0)).toBeNull();
    expect(judgeRedirect(500, "/x", from, requested, 0)).toBeNull();
    expect(judgeRedirect(302, undefined, from, requested, 0)).toBeNull();
  });

  it("follows a relative or same-origin location to the account's own path, with or without its trailing slash", () => {
    expect(judgeRedirect(307, "/integrator/account/a", from, requested, 0)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/a"),
    });
    expect(judgeRedirect(301, "https://plugchat.example/integrator/account/a/", from, requested, 2)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/a/"),
    });
    const noSlash = new URL("https://plugchat.example/integrator/account/a");
    expect(judgeRedirect(308, "a/", noSlash, requested, 1)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/a/"),
    });
  });

  it("refuses another account's path (or any other path) of the same origin, naming it", () => {
    expect(judgeRedirect(307, "/integrator/account/b/", from, requested, 0)).toEqual({
      refuse:
        'redirect to another path ("/integrator/account/b/") not followed: its answer is not this account\'s',
    });
    for (const location of [
      "/y",
      "../b/",
      "/integrator/account/a/b/",
      "/integrator/account/",
      "/integrator/account/a//",
    ]) {
      expect(judgeRedirect(302, location, from, requested, 0)).toHaveProperty("refuse");
    }
    // A long path is cut in the message.
    const long = judgeRedirect(302, `/${"x".repeat(5000)}`, from, requested, 0);
    expect(long).toHaveProperty("refuse");
    expect((long as { refuse: string }).refuse.length).toBeLessThan(200);
  });

  it("refuses another origin, naming both, so that the token stays home", () => {
    expect(judgeRedirect(302, "http://plugchat.example/integrator/account/a/", from, requested, 0)).toEqual({
      refuse:
        "redirect to http://plugchat.example not followed: the token must not leave https://plugchat.example",
    });
  });

  it("refuses an invalid location and a fourth redirect", () => {
    expect(judgeRedirect(302, "http://[bad", from, requested, 0)).toEqual({
      refuse: "redirect to an invalid URL",
    });
    expect(judgeRedirect(302, "/integrator/account/a/", from, requested, 3)).toEqual({
      refuse: "too many redirects",
    });
  });
});
