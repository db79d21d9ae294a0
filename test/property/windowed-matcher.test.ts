/**
 * fast-check: the sender's matcher fed a file in windows (as the sender
 * reads it, see src/delta/send-delta.ts) gives exactly the ops of the whole
 * file in memory, for random files, random edits, random window sizes and
 * --inplace, in the native core and in its TypeScript twin; and the sender's
 * windowed writer makes the same token calls, bytes and checksum as the
 * whole-buffer one, from a file on disk.
 */
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { matchBlocks } from "../../src/delta/matcher.ts";
import { writeDeltaFile } from "../../src/delta/send-delta.ts";
import { writeTokens } from "../../src/delta/send-tokens.ts";
import type { TokenWriter } from "../../src/delta/token-writer.ts";
import { chooseSumHead } from "../../src/delta/sum-head.ts";
import { type Core, core, HashAlg, type MatchCounts, type MatchParams, SeedOrder, tsCore } from "../../src/native/index.ts";
import type { SessionSums } from "../../src/protocol/checksum-choice.ts";
import type { ByteWriter } from "../../src/protocol/writer.ts";
import { expectedCoreKind } from "../helpers/native.ts";
import { applyEdits } from "../helpers/edits.ts";
import { firstDifference } from "../helpers/first-difference.ts";

/** Bytes from a small alphabet, so blocks repeat and rolling sums collide. */
const bytes = (max: number) => fc.uint8Array({ maxLength: max, min: 0, max: 3, size: "max" });

const edit = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: bytes(300) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), len: fc.nat(400) }),
  fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat(), bytes: bytes(200) }),
  // Random bytes: long literal runs, flushed in pieces.
  fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 30_000, maxLength: 80_000, size: "max" }) }),
);

function params(basis: Uint8Array, blockLength: number, alg: HashAlg, inplace: boolean) {
  const head = chooseSumHead(basis.length, 31, 16, false, blockLength);
  const p = { blockLength: head.blockLength || 1, strongLength: head.strongLength || 1, alg, seed: -7, seedOrder: SeedOrder.Append };
  const sums = head.count ? core.blockSums(basis, p) : new Uint8Array(0);
  const mp: MatchParams = { ...p, count: head.count, remainder: head.remainder, updatingBasis: inplace };
  return { head, sums, mp };
}

/** The ops of `data` fed to `c`'s matcher through a window of `window` bytes that slides to each pending literal run, widened when the walk needs more. */
function windowedOps(c: Core, data: Uint8Array, sums: Uint8Array, mp: MatchParams, window: number): number[] {
  return windowedWalk(c, data, sums, mp, window).ops;
}

/** The whole data in one window: the matcher's counters (match.c's hash_hits, false_alarms, matches). */
function wholeCounts(c: Core, data: Uint8Array, sums: Uint8Array, mp: MatchParams): MatchCounts {
  const m = c.createMatcher(sums, mp, data.length);
  m.step(data, 0);
  return m.counts;
}

/** windowedOps, with the counters at the end. */
function windowedWalk(c: Core, data: Uint8Array, sums: Uint8Array, mp: MatchParams, window: number): { ops: number[]; counts: MatchCounts } {
  const m = c.createMatcher(sums, mp, data.length);
  const ops: number[] = [];
  let width = window;
  let steps = 0;
  while (!m.done) {
    const from = m.pendingFrom;
    const to = Math.min(data.length, from + width);
    // A copy: the matcher must not read outside the window it is given.
    const got = m.step(data.slice(from, to), from);
    ops.push(...got);
    width = got.length === 0 ? width * 2 : window;
    if (++steps > 1e6) throw new Error("no progress");
  }
  return { ops, counts: m.counts };
}

const windowSize = (blockLength: number) => fc.integer({ min: 2 * Math.max(blockLength, 1), max: 200_000 });

for (const [name, c] of [
  ["native", core],
  ["TypeScript", tsCore],
] as const) {
  test(`${name}: windowed matching gives the whole-buffer ops`, () => {
    if (name === "native") expect(c.caps.kind).toBe(expectedCoreKind);
    fc.assert(
      fc.property(
        bytes(60_000),
        fc.array(edit, { maxLength: 5 }),
        fc.constantFrom(16, 100, 700, 3000),
        fc.boolean(),
        fc.constantFrom(HashAlg.MD5, HashAlg.XXH3_64),
        fc.nat(),
        (basis, edits, blockLength, inplace, alg, w) => {
          const data = applyEdits(basis, edits);
          const { sums, mp } = params(basis, blockLength, alg, inplace);
          const whole = Array.from(c.matchBlocks(data, sums, mp));
          const window = 2 * mp.blockLength + (w % (3 * mp.blockLength + 70_000));
          const windowed = windowedWalk(c, data, sums, mp, window);
          expect(firstDifference(windowed.ops, whole)).toBeNull();
          // The counters too do not depend on the windows.
          const counts = wholeCounts(c, data, sums, mp);
          expect(windowed.counts).toEqual(counts);
          // Native and twin agree whatever the windows.
          if (name === "native") {
            const twin = windowedWalk(tsCore, data, sums, mp, window);
            expect(firstDifference(twin.ops, whole)).toBeNull();
            expect(twin.counts).toEqual(counts);
          }
        },
      ),
      { numRuns: name === "native" ? 150 : 60 },
    );
  });
}

test("no basis blocks: literal pieces across windows", () => {
  for (const c of [core, tsCore]) {
    const data = new Uint8Array(200_001).map((_, i) => i & 0xff);
    const mp: MatchParams = { blockLength: 700, strongLength: 2, alg: HashAlg.MD5, seed: 0, seedOrder: SeedOrder.Append, count: 0, remainder: 0, updatingBasis: false };
    for (const w of [1400, 32_768, 50_000, 300_000]) expect(windowedOps(c, data, new Uint8Array(0), mp, w)).toEqual(Array.from(c.matchBlocks(data, new Uint8Array(0), mp)));
  }
});

// --- the sender's writer: same token calls from a file through a small window as from the whole data ---

const dir = mkdtempSync(join(tmpdir(), "oc-windowed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SUMS = { xfer: { alg: HashAlg.MD5 }, file: { alg: HashAlg.MD5 }, seed: -7, properSeedOrder: false } as unknown as SessionSums;

/** A TokenWriter that records its calls (the bytes copied: the windowed writer reuses its buffer). */
function recorder() {
  const calls: string[] = [];
  const tokens: TokenWriter = {
    literal: (_w, b) => void calls.push(`L${Buffer.from(b).toString("hex")}`),
    block: (_w, i, b) => void calls.push(`B${i}:${Buffer.from(b).toString("hex")}`),
    end: () => void calls.push("E"),
  };
  const writer = { bytes: (b: Uint8Array) => void calls.push(`S${Buffer.from(b).toString("hex")}`) } as unknown as ByteWriter;
  return { calls, tokens, sink: { writer: () => writer, writable: async () => {} } };
}

test("writeDeltaFile sends what writeTokens sends for the whole data", async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(bytes(40_000), fc.array(edit, { maxLength: 4 }), fc.constantFrom(100, 700), fc.boolean(), fc.nat(), async (basis, edits, blockLength, inplace, w) => {
      const data = applyEdits(basis, edits);
      const { head, sums } = params(basis, blockLength, HashAlg.MD5, inplace);
      const mp = { updatingBasis: inplace };
      const whole = recorder();
      const a = await writeTokens(whole.sink, whole.tokens, data, matchBlocks(head, sums, data, SUMS, mp), core.createHasher(HashAlg.MD5));
      const path = join(dir, `f${n++}`);
      writeFileSync(path, data);
      const fd = openSync(path, "r");
      try {
        const windowed = recorder();
        const m = core.createMatcher(sums, { blockLength: head.blockLength || 1, strongLength: head.strongLength || 1, alg: HashAlg.MD5, seed: -7, seedOrder: SeedOrder.Append, count: head.count, remainder: head.remainder, updatingBasis: inplace }, data.length);
        const b = await writeDeltaFile(windowed.sink, windowed.tokens, fd, data.length, m, core.createHasher(HashAlg.MD5), head.blockLength, 2 * (head.blockLength || 1) + (w % 60_000));
        expect(firstDifference(windowed.calls, whole.calls)).toBeNull();
        expect(b).toEqual(a);
      } finally {
        closeSync(fd);
      }
    }),
    { numRuns: 60 },
  );
});

test("a file shorter than announced goes out padded with zeros, flagged", async () => {
  const path = join(dir, "short");
  const data = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
  writeFileSync(path, data.subarray(0, 60_000));
  const fd = openSync(path, "r");
  try {
    const r = recorder();
    const m = core.createMatcher(new Uint8Array(0), { blockLength: 700, strongLength: 2, alg: HashAlg.MD5, seed: 0, seedOrder: SeedOrder.Append, count: 0, remainder: 0, updatingBasis: false }, data.length);
    const res = await writeDeltaFile(r.sink, r.tokens, fd, data.length, m, core.createHasher(HashAlg.MD5), 700, 4096);
    expect(res).toEqual({ literal: 100_000, matched: 0, readError: "No data available (61)" });
    const sent = Buffer.from(r.calls.filter((c) => c[0] === "L").map((c) => c.slice(1)).join(""), "hex");
    expect(Buffer.compare(sent, Buffer.concat([data.subarray(0, 60_000), new Uint8Array(40_000)]))).toBe(0);
  } finally {
    closeSync(fd);
  }
});
