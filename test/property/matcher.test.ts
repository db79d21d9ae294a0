/**
 * fast-check: the sender's block matcher against random bases and random
 * edits. Rebuilding the file from its ops and the basis (as a receiver does)
 * must give the new data back, every block reference must point at bytes
 * equal to the data it stands for, literal runs must tile the rest, and an
 * unchanged file must be all matches.
 */
import { expect, test } from "bun:test";
import fc from "fast-check";
import { matchBlocks } from "../../src/delta/matcher.ts";
import { chooseSumHead } from "../../src/delta/sum-head.ts";
import { core, HashAlg, SeedOrder, tsCore } from "../../src/native/index.ts";
import type { SessionSums } from "../../src/protocol/checksum-choice.ts";
import { applyEdits } from "../helpers/edits.ts";
import { firstDifference } from "../helpers/first-difference.ts";

const SUMS = { xfer: { alg: HashAlg.MD5 }, file: { alg: HashAlg.MD5 }, seed: 12345, properSeedOrder: true } as unknown as SessionSums;

function signatures(basis: Uint8Array, blockLength: number) {
  const head = chooseSumHead(basis.length, 31, 16, false, blockLength);
  const sums = core.blockSums(basis, { blockLength: head.blockLength, strongLength: head.strongLength, alg: HashAlg.MD5, seed: 12345, seedOrder: SeedOrder.Prepend });
  return { head, sums };
}

function rebuild(basis: Uint8Array, data: Uint8Array, blockLength: number, updatingBasis = false) {
  const { head, sums } = signatures(basis, blockLength);
  const parts: Uint8Array[] = [];
  let at = 0;
  let literal = 0;
  for (const op of matchBlocks(head, sums, data, SUMS, { updatingBasis })) {
    if (op.literal) {
      expect(op.offset).toBe(at);
      parts.push(data.subarray(op.offset, op.offset + op.length));
      literal += op.length;
    } else {
      const from = op.block * head.blockLength;
      const block = basis.subarray(from, from + op.length);
      expect(Buffer.compare(block, data.subarray(at, at + op.length))).toBe(0);
      if (updatingBasis) expect(from).toBeGreaterThanOrEqual(at);
      parts.push(block);
    }
    at += op.length;
  }
  return { out: Buffer.concat(parts), literal, head };
}

/** Bytes from a small alphabet, so blocks repeat and rolling sums collide. */
const bytes = (max: number) => fc.uint8Array({ maxLength: max, min: 0, max: 3 });

const edit = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: bytes(300) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.nat(400) }),
  fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat(), bytes: bytes(200) }),
);

test("the ops rebuild the new data from the basis", () => {
  fc.assert(
    fc.property(bytes(6000), fc.array(edit, { maxLength: 6 }), fc.constantFrom(0, 16, 100, 700), fc.boolean(), (basis, edits, blockLength, inplace) => {
      const data = applyEdits(basis, edits);
      const { out } = rebuild(basis, data, blockLength, inplace);
      expect(Buffer.compare(out, Buffer.from(data))).toBe(0);
    }),
    { numRuns: 200 },
  );
});

test("an unchanged file is sent as matches only", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 20_000 }), fc.constantFrom(0, 100, 700), (data, blockLength) => {
      const { literal } = rebuild(data, data, blockLength);
      expect(literal).toBe(0);
    }),
    { numRuns: 100 },
  );
});

test("long literal runs are flushed early in pieces, as upstream sends them", () => {
  const basis = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
  const data = new Uint8Array(200_000).map((_, i) => (i * 13 + 5) & 0xff);
  const { head, sums } = signatures(basis, 0);
  const ops = [...matchBlocks(head, sums, data, SUMS, { updatingBasis: false })];
  expect(ops.every((op) => op.literal)).toBe(true);
  expect(ops.length).toBeGreaterThan(1);
  expect(ops.reduce((n, op) => n + op.length, 0)).toBe(data.length);
});

test("the native matcher and its TypeScript twin give the same ops", () => {
  expect(core.caps.kind).toBe("native");
  fc.assert(
    fc.property(bytes(6000), fc.array(edit, { maxLength: 6 }), fc.constantFrom(16, 100, 700), fc.boolean(), fc.constantFrom(HashAlg.MD5, HashAlg.MD4, HashAlg.XXH3_64), (basis, edits, blockLength, inplace, alg) => {
      const data = applyEdits(basis, edits);
      const head = chooseSumHead(basis.length, 31, 16, false, blockLength);
      if (head.count === 0) return;
      const p = { blockLength: head.blockLength, strongLength: head.strongLength, alg, seed: -7, seedOrder: SeedOrder.Append };
      const sums = core.blockSums(basis, p);
      const mp = { ...p, count: head.count, remainder: head.remainder, updatingBasis: inplace };
      expect(firstDifference(core.matchBlocks(data, sums, mp), tsCore.matchBlocks(data, sums, mp))).toBeNull();
    }),
    { numRuns: 300 },
  );
});
