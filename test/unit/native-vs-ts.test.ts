/**
 * The native core and its TypeScript twin must agree on everything, for any
 * input: random buffers of every awkward length, every algorithm, every
 * seed form, one-shot and streaming, block-signature tables, and directory
 * scans (more of those in test/property/scan.test.ts).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HashAlg, SeedOrder, core, digestLength, tsCore, type DirScan } from "../../src/native/index.ts";
import { expectedCoreKind } from "../helpers/native.ts";
import { noise } from "../helpers/noise.ts";

const ALGS = [HashAlg.MD4, HashAlg.MD4_BUSTED, HashAlg.MD5, HashAlg.XXH64, HashAlg.XXH3_64, HashAlg.XXH3_128, HashAlg.SHA1];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Lengths around every boundary the algorithms care about (blocks, stripes, padding, SIMD widths). */
const LENGTHS = [0, 1, 2, 3, 4, 8, 9, 15, 16, 17, 31, 32, 33, 55, 56, 63, 64, 65, 127, 128, 129, 240, 241, 255, 256, 511, 512, 699, 700, 701, 1023, 1024, 1025, 4096, 65536, 65537];

const data = noise;

test("the native core is loaded unless disabled (otherwise these tests compare the twin with itself)", () => {
  expect(core.caps.kind).toBe(expectedCoreKind);
});

describe("rolling checksum", () => {
  test.each(LENGTHS)("length %d", (n) => {
    const buf = data(n, n + 1);
    expect(core.rollingChecksum(buf)).toBe(tsCore.rollingChecksum(buf));
  });
  test("random buffers", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (buf) => core.rollingChecksum(buf) === tsCore.rollingChecksum(buf)));
  });
});

describe("hashes", () => {
  for (const alg of ALGS) {
    test(`alg ${alg}: boundary lengths and seeds`, () => {
      for (const n of LENGTHS) {
        const buf = data(n, n * 31 + alg);
        for (const seed of [0, 1, 0x12345678, 0x87654321 | 0, 2n ** 63n + 5n]) {
          expect(hex(core.hash(alg, buf, seed))).toBe(hex(tsCore.hash(alg, buf, seed)));
        }
      }
    });
    test(`alg ${alg}: streaming over random splits equals one-shot`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.nat(5000), { maxLength: 6 }), fc.integer(), (buf, cuts, seed) => {
          const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
          const native = core.createHasher(alg, seed);
          const twin = tsCore.createHasher(alg, seed);
          let from = 0;
          for (const p of [...points, buf.length]) {
            native.update(buf.subarray(from, p));
            twin.update(buf.subarray(from, p));
            from = p;
          }
          const expected = hex(tsCore.hash(alg, buf, seed));
          expect(hex(native.digest())).toBe(expected);
          expect(hex(twin.digest())).toBe(expected);
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe("block-signature tables", () => {
  test("random data, block lengths, strong lengths, algorithms and seeds", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 20000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom(...ALGS),
        fc.integer(),
        fc.constantFrom(SeedOrder.Append, SeedOrder.Prepend),
        fc.integer({ min: 1, max: 20 }),
        (buf, blockLength, alg, seed, seedOrder, strong) => {
          const strongLength = Math.min(strong, digestLength(alg));
          const p = { blockLength, strongLength, alg, seed, seedOrder };
          expect(hex(core.blockSums(buf, p))).toBe(hex(tsCore.blockSums(buf, p)));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("SHA1 (CSUM_SHA1)", () => {
  test("known digests, 20 bytes, from both", () => {
    const abc = new Uint8Array(Buffer.from("abc"));
    for (const c of [core, tsCore]) {
      expect(hex(c.hash(HashAlg.SHA1, abc))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
      const h = c.createHasher(HashAlg.SHA1);
      h.update(abc.subarray(0, 1));
      h.update(abc.subarray(1));
      expect(hex(h.digest())).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    }
  });

  test("a seeded block sum is SHA1(seed_le ‖ block) with all 20 bytes, from both", () => {
    const hello = new Uint8Array(Buffer.from("hello"));
    const p = { blockLength: 700, strongLength: 20, alg: HashAlg.SHA1, seed: 0x12345678, seedOrder: SeedOrder.Prepend };
    for (const c of [core, tsCore]) expect(hex(c.blockSums(hello, p))).toBe("14022706" + "1dd38cd76902cad3650b194ba787a3202aa87d6d");
    for (const c of [core, tsCore]) expect(() => c.blockSums(hello, { ...p, strongLength: 21 })).toThrow(RangeError);
  });
});

describe("directory scans", () => {
  /** Names in hex and stats as text (bigints marked), one line per entry. */
  const text = (scan: DirScan) =>
    scan.names.map((n, i) => `${hex(n)} ${JSON.stringify(scan.stats[i], (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
  const bytes = (s: string) => new Uint8Array(Buffer.from(s));

  test("system directories", () => {
    // Directories nothing writes to while the tests run (a changing mtime would differ between the two scans).
    for (const d of ["/usr/bin", "/usr/lib", "/usr/share"]) expect(text(core.scanDir(bytes(d)))).toEqual(text(tsCore.scanDir(bytes(d))));
  });

  test("random names and sizes", () => {
    const work = mkdtempSync(join(tmpdir(), "oc-nvt-scan-"));
    let run = 0;
    try {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 30, min: 1, max: 255 }).map((n) => n.map((c) => (c === 0x2f || c === 0x2e ? 0x5f : c))), { maxLength: 40, selector: hex }),
          fc.nat(100_000),
          (names, size) => {
            const dir = Buffer.from(join(work, String(run++)));
            mkdirSync(dir);
            names.forEach((n, i) => writeFileSync(Buffer.concat([dir, Buffer.from("/"), n]), Buffer.alloc((size * i) % 70_000)));
            const d = new Uint8Array(dir);
            const twin = text(tsCore.scanDir(d));
            expect(twin.length).toBe(names.length);
            expect(text(core.scanDir(d))).toEqual(twin);
            core.prefetchDirs([d]);
            expect(text(core.scanDir(d))).toEqual(twin);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      core.endScans();
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("errors of the directory: the same node-style error", () => {
    const failure = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        const { code, errno, syscall, message } = e as NodeJS.ErrnoException;
        return { code, errno, syscall, message };
      }
      return null;
    };
    for (const d of ["/nonexistent-oc-rsync", "/etc/hostname", "/usr/bin/\xff"]) {
      const native = failure(() => core.scanDir(bytes(d)));
      expect(native).not.toBeNull();
      expect(native).toEqual(failure(() => tsCore.scanDir(bytes(d))));
    }
  });
});

describe("the sender's whole reads (readSource)", () => {
  /** What a read gave: the data when read whole, else what the descriptor reads from where it was left. */
  const outcome = (r: { fd: number; size: number; read: number }, into: Uint8Array) => {
    if (r.fd < 0) return { size: r.size, whole: hex(into.subarray(0, r.read)) };
    const rest = readFileSync(r.fd);
    closeSync(r.fd);
    return { size: r.size, open: hex(rest) };
  };
  const failure = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      const { code, errno, syscall } = e as NodeJS.ErrnoException;
      return { code, errno, syscall };
    }
    return null;
  };

  test("random files and buffer sizes: the same data, or the same descriptor state", () => {
    const work = mkdtempSync(join(tmpdir(), "oc-nvt-read-"));
    let run = 0;
    try {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(6000), (data, cap) => {
          const path = new Uint8Array(Buffer.from(join(work, `f${run++}`)));
          writeFileSync(Buffer.from(path), data);
          const a = new Uint8Array(cap);
          const b = new Uint8Array(cap);
          const native = outcome(core.readSource(path, constants.O_RDONLY, a), a);
          expect(native).toEqual(outcome(tsCore.readSource(path, constants.O_RDONLY, b), b));
          expect("whole" in native).toBe(data.length <= cap);
        }),
        { numRuns: 100 },
      );
      // Not a regular file: left open, whatever the buffer.
      const dev = new Uint8Array(Buffer.from("/dev/null"));
      expect(outcome(core.readSource(dev, constants.O_RDONLY, new Uint8Array(10)), new Uint8Array(0))).toEqual({ size: 0, open: "" });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("a name relative to a directory descriptor: the file in that directory, even after the directory moved", () => {
    const work = mkdtempSync(join(tmpdir(), "oc-nvt-readat-"));
    try {
      mkdirSync(join(work, "d"));
      writeFileSync(join(work, "d", "f"), "in d");
      writeFileSync(join(work, "f"), "at the top");
      const dirFd = openSync(join(work, "d"), constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        // Moved while held: only a read relative to the descriptor still finds the file.
        renameSync(join(work, "d"), join(work, "moved"));
        const name = new Uint8Array(Buffer.from("f"));
        for (const c of [core, tsCore]) {
          const into = new Uint8Array(64);
          expect(outcome(c.readSource(name, constants.O_RDONLY, into, dirFd), into)).toEqual({ size: 4, whole: hex(Buffer.from("in d")) });
        }
        const missing = new Uint8Array(Buffer.from("nope"));
        const native = failure(() => core.readSource(missing, constants.O_RDONLY, new Uint8Array(8), dirFd));
        expect(native).toMatchObject({ code: "ENOENT" });
        expect(native).toEqual(failure(() => tsCore.readSource(missing, constants.O_RDONLY, new Uint8Array(8), dirFd)));
      } finally {
        closeSync(dirFd);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("errors of the open: the same node-style error", () => {
    for (const p of ["/nonexistent-oc-rsync/f", "/etc/hostname/x", "\xff-missing"]) {
      const path = new Uint8Array(Buffer.from(p, "latin1"));
      const native = failure(() => core.readSource(path, constants.O_RDONLY, new Uint8Array(16)));
      expect(native).not.toBeNull();
      expect(native).toEqual(failure(() => tsCore.readSource(path, constants.O_RDONLY, new Uint8Array(16))));
    }
  });
});
