import { describe, expect, it } from "vitest";
import { judgeRedirect } from "../../src/plugchat/http-request.js";

const from = new URL("https://plugchat.example/integrator/account/a/");
const origin = "https://plugchat.example";

describe("judging a redirect", () => {
  it("is no redirect without a redirect status or a Location", () => {
    expect(judgeRedirect(200, "/x", from, origin, 0)).toBeNull();
    expect(judgeRedirect(500, "/x", from, origin, 0)).toBeNull();
    expect(judgeRedirect(302, undefined, from, origin, 0)).toBeNull();
  });

  it("follows a relative or same-origin location", () => {
    expect(judgeRedirect(307, "/integrator/account/b/", from, origin, 0)).toEqual({
      follow: new URL("https://plugchat.example/integrator/account/b/"),
    });
    expect(judgeRedirect(301, "https://plugchat.example/y", from, origin, 2)).toEqual({
      follow: new URL("https://plugchat.example/y"),
    });
  });

  it("refuses another origin, naming both, so that the token stays home", () => {
    expect(judgeRedirect(302, "http://plugchat.example/y", from, origin, 0)).toEqual({
      refuse:
        "redirect to http://plugchat.example not followed: the token must not leave https://plugchat.example",
    });
  });

  it("refuses an invalid location and a fourth redirect", () => {
    expect(judgeRedirect(302, "http://[bad", from, origin, 0)).toEqual({
      refuse: "redirect to an invalid URL",
    });
    expect(judgeRedirect(302, "/y", from, origin, 3)).toEqual({ refuse: "too many redirects" });
  });
});
