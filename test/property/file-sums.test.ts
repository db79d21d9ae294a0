/**
 * The -c whole-file checksum (core.fileSum, hinted with prefetchFileSums) must
 * give what its TypeScript twin gives for any files: random contents and sizes
 * (around the read buffer's size), sizes asked right or wrong, missing files,
 * directories, symlinks and FIFOs, hinted in order, out of order, in part or not at all.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EntryStat, HashAlg, core, tsCore } from "../../src/native/index.ts";
import { noise } from "../helpers/noise.ts";

const ALGS = [HashAlg.MD4, HashAlg.MD5, HashAlg.XXH64, HashAlg.XXH3_64, HashAlg.XXH3_128, HashAlg.SHA1];
const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString("hex") : null);
const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const root = mkdtempSync(join(tmpdir(), "oc-file-sums-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What a file entry asks: its path, the size it is asked with, and the twin's answer. */
interface Ask {
  path: Uint8Array;
  size: number;
}

/** The hint core.prefetchFileSums takes: the paths, each ended by a NUL, and their sizes. */
function hint(asks: Ask[], sizes = asks.map((a) => a.size), alg: HashAlg = HashAlg.XXH3_128): number {
  const list = Buffer.concat(asks.flatMap((a) => [a.path, new Uint8Array(1)]));
  return core.prefetchFileSums(list, Float64Array.from(sizes), alg);
}

function makeFiles(dir: string, sizes: number[], seed: number): Ask[] {
  mkdirSync(dir, { recursive: true });
  const asks: Ask[] = sizes.map((size, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, noise(size, seed + i));
    return { path: bytes(p), size };
  });
  mkdirSync(join(dir, "sub"));
  symlinkSync("f0", join(dir, "link"));
  // A FIFO is never opened (opening it to read would wait for a writer).
  expect(spawnSync("mkfifo", [join(dir, "fifo")]).status).toBe(0);
  asks.push({ path: bytes(join(dir, "fifo")), size: 0 }, { path: bytes(join(dir, "sub")), size: 4096 }, { path: bytes(join(dir, "link")), size: 2 }, { path: bytes(join(dir, "missing")), size: 0 });
  return asks;
}

test("the native core is loaded unless disabled (otherwise this compares the twin with itself)", () => {
  expect(core.caps.kind).toBe(process.env.OC_RSYNC_NATIVE === "0" ? "typescript" : "native");
});

describe("fileSum equals the twin's", () => {
  let run = 0;
  test("random files, hints and asks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(2000), fc.constantFrom(0, 524287, 524288, 524289, 1_100_000)), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...ALGS),
        fc.array(fc.tuple(fc.nat(100), fc.integer({ min: -1, max: 1 })), { maxLength: 30 }),
        fc.nat(40),
        fc.nat(3),
        (sizes, alg, order, hinted, skewHint) => {
          const asks = makeFiles(join(root, `r${run++}`), sizes, run * 97);
          // Hints: a prefix of the files in order, some with a wrong size.
          const hints = asks.slice(0, hinted % (asks.length + 1));
          hint(
            hints,
            hints.map((a, i) => (i % 4 === skewHint ? a.size + 1 : a.size)),
            alg,
          );
          // Asks: every file in order, then random ones with the right size or one off.
          const seq: Ask[] = [...asks, ...order.map(([i, d]) => ({ path: asks[i % asks.length]!.path, size: Math.max(0, asks[i % asks.length]!.size + d) }))];
          for (const a of seq) expect(hex(core.fileSum(a.path, a.size, alg))).toBe(hex(tsCore.fileSum(a.path, a.size, alg)));
          core.endFileSums();
        },
      ),
      { numRuns: 40 },
    );
  });

  test("a regular file's sum is the hash of its bytes; anything else is null", () => {
    const dir = join(root, "plain");
    const asks = makeFiles(dir, [0, 10, 700_000], 5);
    expect(hex(core.fileSum(asks[2]!.path, 700_000, HashAlg.XXH3_128))).toBe(hex(tsCore.hash(HashAlg.XXH3_128, noise(700_000, 7))));
    expect(hex(core.fileSum(asks[1]!.path, 10, HashAlg.MD5))).toBe(hex(tsCore.hash(HashAlg.MD5, noise(10, 6))));
    expect(core.fileSum(asks[1]!.path, 11, HashAlg.MD5)).toBeNull();
    for (const a of asks.slice(3)) expect(core.fileSum(a.path, a.size, HashAlg.MD5)).toBeNull();
    expect(tsCore.fileSum(asks[1]!.path, 9, HashAlg.MD5)).toBeNull();
  });

  test("hints taken by the native core cover many files and are dropped by endFileSums", () => {
    const asks = makeFiles(join(root, "many"), Array.from({ length: 300 }, (_, i) => i * 13), 11);
    const files = asks.slice(0, 300);
    let offered = 0;
    while (offered < files.length) {
      const n = hint(files.slice(offered));
      if (n === 0) break;
      offered += n;
    }
    if (core.caps.kind === "native") expect(offered).toBe(files.length);
    // Every other file is asked (the others are dropped as later ones are taken).
    for (let i = 0; i < files.length; i += 2) expect(hex(core.fileSum(files[i]!.path, files[i]!.size, HashAlg.XXH3_128))).toBe(hex(tsCore.fileSum(files[i]!.path, files[i]!.size, HashAlg.XXH3_128)));
    core.endFileSums();
  });

  test("fileSumStat: a hinted file's lstat (the errno when there is none), the file still hinted; not hinted: undefined", () => {
    const asks = makeFiles(join(root, "stats"), [0, 5, 600_000], 51);
    expect(core.fileSumStat(asks[0]!.path, asks[0]!.size, HashAlg.XXH3_128)).toBeUndefined();
    hint(asks);
    for (const a of asks) {
      const st = core.fileSumStat(a.path, a.size, HashAlg.XXH3_128);
      if (core.caps.kind !== "native") {
        expect(st).toBeUndefined();
        continue;
      }
      const want = lstatSync(Buffer.from(a.path), { throwIfNoEntry: false });
      if (!want) expect(st).toBe(2);
      else {
        expect(typeof st).toBe("object");
        const got = st as EntryStat;
        expect([got.mode, got.size, got.ino, got.nlink, got.mtime]).toEqual([want.mode, want.size, BigInt(want.ino), want.nlink, Math.floor(want.mtimeMs / 1000)]);
      }
      // Still there for the sum (and asked again, the same).
      expect(hex(core.fileSum(a.path, a.size, HashAlg.XXH3_128))).toBe(hex(tsCore.fileSum(a.path, a.size, HashAlg.XXH3_128)));
    }
    core.endFileSums();
  });

  test("hints that go back and forth between directories, and a directory replaced between two passes", () => {
    const dir = join(root, "moves");
    const a = makeFiles(join(dir, "a"), [10, 20, 30], 21).slice(0, 3);
    const b = makeFiles(join(dir, "b"), [10, 20, 30], 31).slice(0, 3);
    const mixed = [a[0]!, b[0]!, a[1]!, a[2]!, b[1]!, b[2]!];
    hint(mixed);
    for (const f of mixed) expect(hex(core.fileSum(f.path, f.size, HashAlg.XXH3_128))).toBe(hex(tsCore.fileSum(f.path, f.size, HashAlg.XXH3_128)));
    core.endFileSums();
    // The same names and sizes with other contents in a new directory "a": the next pass hashes those.
    renameSync(join(dir, "a"), join(dir, "a-old"));
    const again = makeFiles(join(dir, "a"), [10, 20, 30], 41).slice(0, 3);
    hint(again);
    for (const f of again) expect(hex(core.fileSum(f.path, f.size, HashAlg.XXH3_128))).toBe(hex(tsCore.hash(HashAlg.XXH3_128, noise(f.size, 41 + again.indexOf(f)))));
    core.endFileSums();
  });
});
