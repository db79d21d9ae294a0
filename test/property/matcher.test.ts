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
import { type Core, core, HashAlg, type MatchParams, SeedOrder, tsCore } from "../../src/native/index.ts";
import type { SessionSums } from "../../src/protocol/checksum-choice.ts";
import { expectedCoreKind } from "../helpers/native.ts";
import { applyEdits } from "../helpers/edits.ts";
import { collidingBlock, collidingBlocks } from "../helpers/collisions.ts";
import { firstDifference } from "../helpers/first-difference.ts";
import { noise } from "../helpers/noise.ts";

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
      // --inplace: a block behind the write position only if it was found at its own offset (the receiver left it as it was).
      if (updatingBasis && from < at) expect(Buffer.compare(block, data.subarray(from, from + op.length))).toBe(0);
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

test("a block after every literal byte: twice as many ops as blocks, all returned whole by both matchers", () => {
  // Each block of the basis, in order, each after one byte that matches nothing: a literal op and a block op per
  // block. The native whole-buffer call once sized its output for one op per block and failed with ENOSPC.
  const blockLength = 100;
  const basis = noise(300 * blockLength, 5);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < basis.length; at += blockLength) parts.push(Uint8Array.of(0xaa), basis.subarray(at, at + blockLength));
  const data = new Uint8Array(Buffer.concat(parts));
  const { sums, mp } = weakSignatures(basis, blockLength, HashAlg.MD5, false, 16);
  const ops = core.matchBlocks(data, sums, mp);
  expect(ops.length).toBe(2 * 2 * 300);
  expect(Array.from(ops.subarray(0, 8))).toEqual([-1, 1, 0, blockLength, -1, 1, 1, blockLength]);
  expect(firstDifference(ops, tsCore.matchBlocks(data, sums, mp))).toBeNull();
});

test("the native matcher and its TypeScript twin give the same ops", () => {
  expect(core.caps.kind).toBe(expectedCoreKind);
  fc.assert(
    fc.property(bytes(6000), fc.array(edit, { maxLength: 6 }), fc.constantFrom(16, 100, 700), fc.boolean(), fc.constantFrom(HashAlg.MD5, HashAlg.MD4, HashAlg.XXH3_64), (basis, edits, blockLength, inplace, alg) => {
      const data = applyEdits(basis, edits);
      const head = chooseSumHead(basis.length, 31, 16, false, blockLength);
      if (head.count === 0) return;
      const p = { blockLength: head.blockLength, strongLength: head.strongLength, alg, seed: -7, seedOrder: SeedOrder.Append };
      const sums = core.blockSums(basis, p);
      const mp = { ...p, count: head.count, remainder: head.remainder, updatingBasis: inplace };
      expect(firstDifference(core.matchBlocks(data, sums, mp), tsCore.matchBlocks(data, sums, mp))).toBeNull();
      expectSameWalk(data, sums, mp);
    }),
    { numRuns: 300 },
  );
});

/** One matcher over the whole data: its ops and match.c's counters. */
function walk(c: Core, data: Uint8Array, sums: Uint8Array, mp: MatchParams) {
  const m = c.createMatcher(sums, mp, data.length);
  const ops = m.step(data, 0);
  expect(m.done).toBe(true);
  return { ops, counts: m.counts };
}

/** The native walk and the twin's give the same ops and the same counters. */
function expectSameWalk(data: Uint8Array, sums: Uint8Array, mp: MatchParams) {
  const native = walk(core, data, sums, mp);
  const twin = walk(tsCore, data, sums, mp);
  expect(firstDifference(native.ops, twin.ops)).toBeNull();
  expect(native.counts).toEqual(twin.counts);
}

/** Signatures of `basis`, by default under a 2-byte strong sum as upstream sends for small files: strong collisions happen too. */
function weakSignatures(basis: Uint8Array, blockLength: number, alg: HashAlg, inplace: boolean, strongLength = 2) {
  const p = { blockLength, strongLength, alg, seed: 77, seedOrder: SeedOrder.Append };
  const count = Math.ceil(basis.length / blockLength);
  const mp: MatchParams = { ...p, count, remainder: basis.length % blockLength, updatingBasis: inplace };
  return { sums: core.blockSums(basis, p), mp };
}

test("counters: an unchanged file counts one hash hit and one match per block, no false alarm", () => {
  const basis = new Uint8Array(70_000).map((_, i) => (i * 2654435761) >>> 24);
  for (const c of [core, tsCore]) {
    const { sums, mp } = weakSignatures(basis, 700, HashAlg.MD5, false);
    expect(walk(c, basis, sums, mp).counts).toEqual({ hashHits: 100, falseAlarms: 0, matches: 100 });
  }
});

test("counters: blocks whose rolling sums collide are false alarms, and a chain past MAX_CHAIN_LEN is given up", () => {
  // 1100 blocks with one rolling sum, searched newest first: block 76 is the 1024th candidate, block 75 one too many.
  const basis = collidingBlocks(64, 1100);
  const cases = [
    { variant: 1099, counts: { hashHits: 1, falseAlarms: 0, matches: 1 } },
    { variant: 76, counts: { hashHits: 1, falseAlarms: 1023, matches: 1 } },
    { variant: 75, counts: { hashHits: 1, falseAlarms: 1024, matches: 0 } },
    { variant: 0, counts: { hashHits: 1, falseAlarms: 1024, matches: 0 } },
  ];
  for (const c of [core, tsCore]) {
    const { sums, mp } = weakSignatures(basis, 64, HashAlg.MD5, false, 16);
    for (const { variant, counts } of cases) {
      const got = walk(c, collidingBlock(64, variant), sums, mp);
      expect(got.counts).toEqual(counts);
      expect(Array.from(got.ops)).toEqual(counts.matches ? [variant, 64] : [-1, 64]);
    }
  }
});

test("the native matcher and its twin agree on colliding blocks, duplicates and strong-sum collisions", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(2000), { minLength: 1, maxLength: 300 }),
      fc.array(fc.nat(2000), { minLength: 1, maxLength: 400 }),
      fc.array(edit, { maxLength: 4 }),
      fc.constantFrom(16, 64),
      fc.boolean(),
      (basisVariants, dataVariants, edits, blockLength, inplace) => {
        const variant = (v: number) => collidingBlock(blockLength, v % (blockLength === 16 ? 67 : 1800));
        const basis = new Uint8Array(Buffer.concat(basisVariants.map(variant)));
        const data = applyEdits(new Uint8Array(Buffer.concat(dataVariants.map(variant))), edits);
        const { sums, mp } = weakSignatures(basis, blockLength, HashAlg.XXH3_128, inplace);
        expectSameWalk(data, sums, mp);
      },
    ),
    { numRuns: 150 },
  );
});
