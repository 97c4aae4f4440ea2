// The stored digests as a run holds them (a sorted set of 8-byte prefixes), without a database: built
// from the prefixes PostgreSQL concatenates in no order, it holds exactly the digests stored.
import { expect, it } from "vitest";
import { expectationsDigest } from "../../src/accounts/source/expectations.js";
import {
  DIGEST_LENGTH,
  DIGEST_PREFIX_CHARS,
  StoredDigests,
} from "../../src/accounts/source/stored-digests.js";

const digestOf = (index: number) =>
  expectationsDigest(`acc-${index}`, `{"exists":"true","name":"N${index}"}`);

/** What readStoredDigestPrefixes returns for these digests: each one's first characters, concatenated. */
function prefixesOf(digests: Buffer[]): string {
  return digests.map((digest) => digest.toString("base64url").slice(0, DIGEST_PREFIX_CHARS)).join("");
}

it("holds every stored digest and no other, whatever the order they were read in", () => {
  const stored = Array.from({ length: 1_000 }, (_, index) => digestOf(index));
  const shuffled = [...stored].sort(Buffer.compare).reverse();
  const set = StoredDigests.fromPrefixes(prefixesOf(shuffled));

  expect(set.size).toBe(1_000);
  expect(stored.every((digest) => set.has(digest))).toBe(true);
  const others = Array.from({ length: 1_000 }, (_, index) => digestOf(index + 1_000));
  expect(others.filter((digest) => set.has(digest))).toEqual([]);
});

it("tells apart digests of the same values for two accounts, and of other values for one account", () => {
  const values = '{"exists":"true","active":"true"}';
  const set = StoredDigests.fromPrefixes(prefixesOf([expectationsDigest("acc-1", values)]));

  expect(set.has(expectationsDigest("acc-1", values))).toBe(true);
  expect(set.has(expectationsDigest("acc-2", values))).toBe(false);
  expect(set.has(expectationsDigest("acc-1", '{"exists":"true","active":"false"}'))).toBe(false);
});

it("holds nothing when no digest is stored", () => {
  const set = StoredDigests.fromPrefixes("");

  expect(set.size).toBe(0);
  expect(set.has(digestOf(1))).toBe(false);
});

it("stores digests of DIGEST_LENGTH characters, whose prefixes are whole bytes", () => {
  expect(digestOf(1).toString("base64url")).toHaveLength(DIGEST_LENGTH);
  expect((DIGEST_PREFIX_CHARS * 6) % 8).toBe(0);
});
