import { describe, expect, it } from "vitest";
import { Secret } from "../../src/config/secret.js";
import { basicPassword, decideAccess, isLoopbackAddress } from "../../src/status/access.js";

const PASSWORD = new Secret("open sesame 42");
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
const local = { remoteAddress: "127.0.0.1", host: "127.0.0.1:9464", authorization: undefined };

describe("decideAccess without STATUS_PASSWORD", () => {
  it("serves loopback clients under a loopback Host: 127.0.0.0/8, ::1 and IPv4-mapped", () => {
    for (const remoteAddress of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
      expect(decideAccess({ ...local, remoteAddress }, undefined)).toEqual({ kind: "allow" });
    }
    for (const host of ["localhost:9464", "localhost", "[::1]:9464", "127.0.0.1"]) {
      expect(decideAccess({ ...local, host }, undefined)).toEqual({ kind: "allow" });
    }
  });

  it("refuses a remote client, saying how to open the page, whatever its headers claim", () => {
    for (const remoteAddress of ["192.0.2.7", "10.0.0.1", "::ffff:192.0.2.7", "fd00::2", undefined]) {
      const decision = decideAccess({ ...local, remoteAddress, authorization: basic("x", "y") }, undefined);
      expect(decision).toMatchObject({
        kind: "refuse",
        reason: expect.stringMatching(/set STATUS_PASSWORD/),
      });
    }
  });

  it("refuses a loopback client under another site's Host name (DNS rebinding)", () => {
    for (const host of [
      "evil.example",
      "evil.example:9464",
      "localhost@evil.example",
      "127.0.0.1.evil.example",
      undefined,
    ]) {
      expect(decideAccess({ ...local, host }, undefined)).toMatchObject({ kind: "refuse" });
    }
  });
});

describe("decideAccess with STATUS_PASSWORD", () => {
  it("serves anyone giving the password, remote or not, whatever the user name", () => {
    for (const remoteAddress of ["192.0.2.7", "127.0.0.1"]) {
      const authorization = basic("anyone", PASSWORD.reveal());
      expect(decideAccess({ remoteAddress, host: "status.example", authorization }, PASSWORD)).toEqual({
        kind: "allow",
      });
    }
  });

  it("asks everyone else for it, loopback clients too (a local proxy makes remote clients look local)", () => {
    for (const authorization of [
      undefined,
      basic("a", "wrong"),
      basic("a", `${PASSWORD.reveal()}x`),
      "Bearer x",
      "Basic !!",
    ]) {
      expect(decideAccess({ ...local, authorization }, PASSWORD)).toEqual({ kind: "ask_password" });
    }
  });
});

describe("helpers", () => {
  it("reads the password of a Basic header, colons in it included", () => {
    expect(basicPassword(basic("u", "a:b:c"))).toBe("a:b:c");
    expect(basicPassword(`basic   ${Buffer.from("u:p").toString("base64")}`)).toBe("p");
    expect(basicPassword(Buffer.from("u:p").toString("base64"))).toBeUndefined();
    expect(basicPassword(`Basic ${Buffer.from("no colon").toString("base64")}`)).toBeUndefined();
  });

  it("knows loopback peer addresses", () => {
    expect(isLoopbackAddress("127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("::ffff:127.0.0.2")).toBe(true);
    expect(isLoopbackAddress("128.0.0.1")).toBe(false);
    expect(isLoopbackAddress("::2")).toBe(false);
  });
});
