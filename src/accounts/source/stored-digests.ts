// The digests of the expected values stored, as a run's reconciliation holds them while it reads the
// source: the first 8 bytes of each, sorted, in one typed array (8 bytes per account, where a map of
// ids to digests took 134). A digest hashes the account's id with its values (expectationsDigest), so
// a row whose digest is in the set is unchanged. Two different digests share their first 8 bytes with
// a chance of 2^-64 per pair: such a row would be taken for unchanged, and its values stored at its
// next change.

/** Characters of a stored digest: SHA-256's 32 bytes in base64url. */
export const DIGEST_LENGTH = 43;
/** Base64url characters per stored prefix: 12 characters are 9 whole bytes, of which 8 are kept. */
export const DIGEST_PREFIX_CHARS = 12;
const BYTES_PER_PREFIX = 9;

export class StoredDigests {
  private constructor(private readonly sorted: BigUint64Array) {}

  /** From the first DIGEST_PREFIX_CHARS characters of each stored base64url digest, concatenated. */
  static fromPrefixes(concatenated: string): StoredDigests {
    const bytes = Buffer.from(concatenated, "base64url");
    const keys = new BigUint64Array(Math.floor(bytes.length / BYTES_PER_PREFIX));
    for (let index = 0; index < keys.length; index++)
      keys[index] = bytes.readBigUInt64BE(index * BYTES_PER_PREFIX);
    return new StoredDigests(keys.sort());
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Whether a digest (expectationsDigest's bytes) is stored. */
  has(digest: Buffer): boolean {
    const key = digest.readBigUInt64BE(0);
    let low = 0;
    let high = this.sorted.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const candidate = this.sorted[middle] as bigint;
      if (candidate === key) return true;
      if (candidate < key) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}
