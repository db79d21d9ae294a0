/**
 * fast-check: the sender's one-call whole-file checksum (wholeFileSum, for a
 * file read whole) is the digest the streaming hasher gives for the same
 * bytes, for every checksum a session can choose, the legacy seeded MD4 and
 * "none" included.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { impliedSum, sumByName, type SessionSums, type SumKind, wholeFileHasher, wholeFileSum } from "../../src/protocol/checksum-choice.ts";

const KINDS: SumKind[] = [...["xxh128", "xxh3", "xxh64", "md5", "md4", "sha1", "none"].map((name) => sumByName(name, 31)), impliedSum(26)];

function streamed(s: SessionSums, data: Uint8Array): Uint8Array {
  const hasher = wholeFileHasher(s);
  // In uneven pieces, as a file read in chunks is hashed.
  for (let at = 0; at < data.length; at += 1000) hasher.update(data.subarray(at, at + 1000));
  return hasher.digest();
}

test("wholeFileSum equals the streaming hasher's digest", () => {
  fc.assert(
    fc.property(fc.constantFrom(...KINDS), fc.uint8Array({ maxLength: 5000 }), fc.integer(), (xfer, data, seed) => {
      const s = { xfer, file: xfer, seed, properSeedOrder: true } as unknown as SessionSums;
      expect(wholeFileSum(s, data)).toEqual(streamed(s, data));
    }),
    { numRuns: 300 },
  );
});
