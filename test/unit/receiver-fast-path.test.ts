/**
 * The receiver's fast paths: literal data taken from the reader as the
 * pieces it arrived in (ChunkReader.pieces), and DestFs's
 * descriptor-relative operations (fs/fd-ops.ts) giving what the path-based
 * ones give.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ChunkReader, UNDERFLOW } from "../../src/protocol/reader.ts";
import { FileTable } from "../../src/flist/table.ts";
import { HashAlg, core, tsCore } from "../../src/native/index.ts";
import { IncomingFile, SpareWindow } from "../../src/roles/incoming-file.ts";
import { WriteStaging } from "../../src/roles/write-staging.ts";
import { cleanFully, cleanWireName } from "../../src/flist/wire-name.ts";
import { compareNames, compareRows } from "../../src/flist/sort.ts";
import { DestFs, tempBaseFor, tempNameFor } from "../../src/fs/dest-fs.ts";
import { fdOpsAvailable, fstatFd, futimesFd, writeAllFd, closeFd, createAt, renameAt } from "../../src/fs/fd-ops.ts";

const enc = (s: string) => new Uint8Array(Buffer.from(s));

describe("ChunkReader.pieces", () => {
  test("any cut of the stream: the pieces join to the bytes, and what follows reads on", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.array(fc.nat(320), { maxLength: 8 }), fc.nat(300), (bytes, cuts, rawN) => {
        const n = rawN % (bytes.length + 1);
        const r = new ChunkReader();
        let from = 0;
        for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
          if (cut > from && cut < bytes.length) {
            r.push(bytes.subarray(from, cut));
            from = cut;
          }
        }
        r.push(bytes.subarray(from));
        const out: Uint8Array[] = [];
        r.mark();
        r.pieces(n, out);
        expect(Buffer.concat(out)).toEqual(Buffer.from(bytes.subarray(0, n)));
        expect(r.consumed).toBe(n);
        expect(r.available).toBe(bytes.length - n);
        if (n < bytes.length) expect(r.u8()).toBe(bytes[n]!);
      }),
    );
  });

  test("too few bytes: UNDERFLOW and nothing consumed, so the item is retried whole", () => {
    const r = new ChunkReader();
    r.push(enc("abc"));
    r.push(enc("de"));
    r.mark();
    expect(r.u8()).toBe(0x61);
    const out: Uint8Array[] = [];
    expect(() => r.pieces(5, out)).toThrow();
    try {
      r.pieces(5, out);
    } catch (e) {
      expect(e).toBe(UNDERFLOW);
    }
    expect(out).toEqual([]);
    r.rewind();
    r.push(enc("f"));
    expect(r.u8()).toBe(0x61);
    r.pieces(5, out);
    expect(Buffer.concat(out).toString()).toBe("bcdef");
  });
});

describe("sorting files of one directory", () => {
  test("compareRows's byte-by-byte shortcut orders as compareNames does", () => {
    const name = fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => b.map((c) => (c === 0 || c === 0x2f ? 0x61 : c)));
    fc.assert(
      fc.property(name, name, fc.constantFrom("", "d", "d/e"), fc.integer({ min: 27, max: 32 }), (n1, n2, dir, protocol) => {
        const t = new FileTable();
        t.ensure(2);
        const full = (n: Uint8Array) => (dir ? new Uint8Array([...enc(dir), 0x2f, ...n]) : n);
        t.setName(0, full(n1));
        t.setName(1, full(n2));
        t.mode[0] = 0o100644;
        t.mode[1] = 0o100644;
        const want = Math.sign(compareNames(t.dirName(0), t.baseName(0), false, t.dirName(1), t.baseName(1), false, protocol));
        expect(Math.sign(compareRows(t, 0, 1, protocol))).toBe(want);
        // (Equal names: 0 both ways, and toBe tells -0 from 0.)
        expect(Math.sign(compareRows(t, 1, 0, protocol))).toBe(want === 0 ? 0 : -want);
      }),
    );
  });
});

describe("file-list names", () => {
  test("cleanWireName's shortcut for clean names gives what the full clean_fname pass gives (or the same refusal)", () => {
    const outcome = (f: () => Uint8Array) => {
      try {
        return Buffer.from(f()).toString("latin1");
      } catch (e) {
        return `refused: ${(e as Error).message}`;
      }
    };
    const name = fc.array(fc.constantFrom("a", "b", ".", "/", "\0", "é"), { minLength: 1, maxLength: 10 }).map((parts) => new Uint8Array(Buffer.from(parts.join(""), "latin1")));
    fc.assert(
      fc.property(name, fc.boolean(), (n, relative) => {
        expect(outcome(() => cleanWireName(n, relative))).toBe(outcome(() => cleanFully(n, relative)));
      }),
      { numRuns: 3000 },
    );
    const clean = enc("dir/sub/file.c");
    expect(cleanWireName(clean, false)).toBe(clean);
  });
});

describe("hasher states reused after release", () => {
  test("a hasher made from a released state digests as a fresh one; a released one refuses more use", () => {
    const algs = [HashAlg.MD4, HashAlg.MD5, HashAlg.XXH64, HashAlg.XXH3_64, HashAlg.XXH3_128];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...algs), fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 6 }), (files) => {
        for (const [alg, data] of files) {
          const h = core.createHasher(alg, 0);
          h.update(data);
          expect(Buffer.from(h.digest())).toEqual(Buffer.from(tsCore.hash(alg, data, 0)));
          h.release?.();
          if (h.release) expect(() => h.update(data)).toThrow();
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe("temp names", () => {
  test("tempNameFor is the directory plus tempBaseFor's name: .NAME.XXXXXX, a leading dot dropped, shortened to fit", () => {
    const t = Buffer.from(tempNameFor(enc("dir/sub/.hidden"))).toString();
    expect(t).toMatch(/^dir\/sub\/\.hidden\.[A-Za-z0-9]{6}$/);
    expect(Buffer.from(tempBaseFor(enc("file.c"))).toString()).toMatch(/^\.file\.c\.[A-Za-z0-9]{6}$/);
    expect(Buffer.from(tempNameFor(enc("top"))).toString()).toMatch(/^\.top\.[A-Za-z0-9]{6}$/);
    expect(tempBaseFor(new Uint8Array(300).fill(0x61)).length).toBe(255 - 1);
  });
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), "oc-fdops-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe.if(fdOpsAvailable)("DestFs through directory descriptors", () => {
  test("lstatIn gives lstat's answer, for files, symlinks, missing names and missing directories", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "a"));
    fs.writeFileSync(path.join(root, "a", "f"), "12345");
    fs.symlinkSync("nowhere", path.join(root, "a", "l"));
    fs.utimesSync(path.join(root, "a", "f"), 1_000_000_000.25, 1_234_567_890.5);
    for (const name of ["f", "l"]) {
      const viaFd = d.lstatIn(7, enc("a"), enc(name));
      expect(viaFd).toEqual(d.lstat(enc(`a/${name}`)));
    }
    expect(d.lstatIn(7, enc("a"), enc("none"))).toBeNull();
    expect(d.lstatIn(8, enc("missing"), enc("x"))).toBeNull();
    d.forgetDirs();
  });

  test("a directory removed and made again through DestFs is not reached through its old descriptor", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "b"));
    fs.writeFileSync(path.join(root, "b", "old"), "x");
    expect(d.lstatIn(3, enc("b"), enc("old"))).not.toBeNull();
    d.unlink(enc("b/old"));
    d.rmdir(enc("b"));
    d.mkdir(enc("b"), 0o755);
    fs.writeFileSync(path.join(root, "b", "new"), "y");
    expect(d.lstatIn(3, enc("b"), enc("new"))).not.toBeNull();
    d.forgetDirs();
  });

  test("a file made, written, timed and renamed through descriptors", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "c"));
    const dirFd = d.dirFd(5, enc("c"));
    const fd = createAt(dirFd, enc(".f.XXXXXX"), 0o640, () => "");
    writeAllFd(fd, [enc("hello "), enc(""), enc("world")], () => "");
    futimesFd(fd, 1_500_000_000, 123_456_789, undefined, () => "");
    const st = fstatFd(fd, () => "");
    closeFd(fd, () => "");
    renameAt(dirFd, enc(".f.XXXXXX"), enc("f"), () => "");
    d.forgetDirs();
    expect(fs.readFileSync(path.join(root, "c", "f"), "utf8")).toBe("hello world");
    const now = fs.statSync(path.join(root, "c", "f"), { bigint: true });
    expect(now.mtimeNs).toBe(1_500_000_000_123_456_789n);
    expect(Number(now.mode) & 0o7777).toBe(0o640 & ~process.umask());
    expect(st.size).toBe(11);
    expect(st.ino).toBe(now.ino);
    expect(st.dev).toBe(now.dev);
  });

  test("times before 1970 go through futimens and come back from statx as lstat splits them", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "n"));
    const dirFd = d.dirFd(6, enc("n"));
    const fd = createAt(dirFd, enc("old"), 0o600, () => "");
    futimesFd(fd, -2, 500_000_000, -7, () => "");
    closeFd(fd, () => "");
    const now = fs.statSync(path.join(root, "n", "old"), { bigint: true });
    expect(now.mtimeNs).toBe(-1_500_000_000n);
    expect(now.atimeNs).toBe(-7_000_000_000n);
    expect(d.lstatIn(6, enc("n"), enc("old"))).toEqual(d.lstat(enc("n/old")));
    d.forgetDirs();
  });

  test("errors read like node's: code, errno and the whole path", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "e"));
    fs.writeFileSync(path.join(root, "e", "taken"), "");
    const dirFd = d.dirFd(9, enc("e"));
    let caught: NodeJS.ErrnoException | null = null;
    try {
      createAt(dirFd, enc("taken"), 0o600, () => d.shown(enc("e/taken")));
    } catch (e) {
      caught = e as NodeJS.ErrnoException;
    }
    expect(caught?.code).toBe("EEXIST");
    expect(caught?.errno).toBe(-17);
    expect(caught?.message).toContain(path.join(root, "e", "taken"));
    d.forgetDirs();
  });
});

describe("matched blocks through the read-ahead window", () => {
  test("blocks in any order, from two files taking turns, are the basis's bytes (zeros past its end)", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "w"), { recursive: true });
    const basisA = new Uint8Array(700_000).map((_, i) => (i * 7 + 3) & 0xff);
    const basisB = new Uint8Array(300_001).map((_, i) => (i * 13 + 1) & 0xff);
    fs.writeFileSync(path.join(root, "w", "a"), basisA);
    fs.writeFileSync(path.join(root, "w", "b"), basisB);
    const fileOf = (name: string, size: number, blockLength: number) => {
      const count = Math.ceil(size / blockLength);
      const head = { count, blockLength, strongLength: 16, remainder: size % blockLength };
      const spec = { rel: enc(`w/${name}.new`), head, basisRel: enc(`w/${name}`), inplace: false, append: 0 as const, createMode: 0o600 };
      return new IncomingFile(d, spec, core.createHasher(HashAlg.MD5, 0));
    };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(10_000)), { minLength: 1, maxLength: 40 }), (picks) => {
        const a = fileOf("a", basisA.length, 7000);
        const b = fileOf("b", basisB.length, 4096);
        for (const [useA, n] of picks) {
          const [file, basis, blockLength, count] = useA ? [a, basisA, 7000, 100] : [b, basisB, 4096, 74];
          const index = n % count;
          const want = basis.subarray(index * blockLength, Math.min(basis.length, (index + 1) * blockLength));
          expect(Buffer.from(file.block(index)!)).toEqual(Buffer.from(want));
        }
        a.discard();
        b.discard();
      }),
      { numRuns: 30 },
    );
    d.forgetDirs();
  });

  test("a file rebuilt from blocks and literals holds and hashes exactly those bytes, run or no run; what it handed on stays as it was while the next file reuses its window", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "r"), { recursive: true });
    // Two bases, files taking turns: a window buffer passed on and read into again shows in the last job's data.
    const bases = [0, 1].map((k) => new Uint8Array(600_000).map((_, i) => (i * (31 + k * 6) + 5 + k) & 0xff));
    // The sums speak of 650,000 bytes: blocks past the basis's real end come out as zeros.
    const claimed = 650_000;
    bases.forEach((b, k) => fs.writeFileSync(path.join(root, "r", `basis${k}`), b));
    const spare = new SpareWindow();
    let previous: { data: Uint8Array[]; all: Buffer; released?: () => void } | null = null;
    let run = 0;
    const blockLength = 5000;
    const count = claimed / blockLength;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ block: fc.nat(count - 1), wanted: fc.boolean() }), fc.uint8Array({ minLength: 1, maxLength: 3000 })), { minLength: 1, maxLength: 120 }),
        fc.boolean(),
        fc.constantFrom(0, 16 << 10, 1 << 20),
        (steps, runs, stagingSize) => {
          const k = run++ % 2;
          const basis = bases[k]!;
          const head = { count, blockLength, strongLength: 16, remainder: 0 };
          const spec = { rel: enc("r/out"), at: { dirKey: 77, dir: enc("r"), base: enc("out") }, head, basisRel: enc(`r/basis${k}`), inplace: false, append: 0 as const, createMode: 0o600 };
          // Staged copies (a small ring fills up part-way: the rest is kept as given) or the pieces themselves.
          const staging = stagingSize ? new WriteStaging(stagingSize) : null;
          const file = new IncomingFile(d, spec, core.createHasher(HashAlg.MD5, 0), staging, undefined, spare);
          const want: Uint8Array[] = [];
          for (let i = 0; i < steps.length; i++) {
            const step = steps[i]!;
            if (step instanceof Uint8Array) {
              file.literalData(step);
              want.push(step);
              continue;
            }
            // Runs of consecutive blocks (as matched blocks mostly come: the window joins them) half of the time.
            const index = runs && i > 0 ? (step.block % 4 === 0 ? step.block : Math.min(count - 1, i)) : step.block;
            const bytes = new Uint8Array(blockLength);
            bytes.set(basis.subarray(index * blockLength, Math.min(basis.length, (index + 1) * blockLength)));
            const got = file.block(index, step.wanted);
            if (step.wanted) expect(Buffer.from(got!)).toEqual(Buffer.from(bytes));
            want.push(bytes);
          }
          const all = Buffer.concat(want);
          const hasher = core.createHasher(HashAlg.MD5, 0);
          hasher.update(all);
          expect(file.verify(hasher.digest())).toBe(true);
          expect(file.matched + file.literal).toBe(all.length);
          // The file before, rebuilt from the other basis, still holds its bytes.
          if (previous) expect(Buffer.concat(previous.data)).toEqual(Buffer.from(previous.all));
          previous?.released?.();
          previous = null;
          const job = file.takeForJob();
          if (!job) {
            // Pieces the staging ring did not take (none, too small, or full) were written out before the window
            // buffer was read into again: the rest goes to the temp file too.
            const temp = file.close();
            expect(fs.readFileSync(path.join(root, Buffer.from(temp).toString()))).toEqual(all);
            fs.unlinkSync(path.join(root, Buffer.from(temp).toString()));
            return;
          }
          expect(Buffer.concat(job.data)).toEqual(all);
          expect(job.bytes).toBe(all.length);
          if (staging) {
            // The job gives its staging space back when done: the whole ring is free again (and written over).
            job.released?.();
            expect(staging.copy(new Uint8Array(stagingSize >> 2), [])).not.toBeNull();
          } else previous = { data: job.data, all, released: job.released };
        },
      ),
      { numRuns: 60 },
    );
    d.forgetDirs();
  });
});

describe("the basis window passed on", () => {
  test("unstaged pieces of a window: passed on after close writes them, or when the job that took them is done", () => {
    const d = new DestFs(root);
    fs.mkdirSync(path.join(root, "p"), { recursive: true });
    const basis = new Uint8Array(100_000).map((_, i) => (i * 11 + 7) & 0xff);
    fs.writeFileSync(path.join(root, "p", "basis"), basis);
    const blockLength = 1000;
    const head = { count: basis.length / blockLength, blockLength, strongLength: 16, remainder: 0 };
    const spare = new SpareWindow();
    const rebuild = (name: string, blocks: number): IncomingFile => {
      const spec = { rel: enc(`p/${name}`), at: { dirKey: 78, dir: enc("p"), base: enc(name) }, head, basisRel: enc("p/basis"), inplace: false, append: 0 as const, createMode: 0o600 };
      // No staging ring (as when it is full): the runs are views of the window.
      const file = new IncomingFile(d, spec, core.createHasher(HashAlg.MD5, 0), null, undefined, spare);
      for (let i = 0; i < blocks; i++) expect(file.block(i, false)).toBeNull();
      const hasher = core.createHasher(HashAlg.MD5, 0);
      hasher.update(basis.subarray(0, blocks * blockLength));
      expect(file.verify(hasher.digest())).toBe(true);
      return file;
    };
    // A small file goes to the writer as a job with the window's view: the window is passed on once the job is done.
    const job = rebuild("small", 10).takeForJob()!;
    expect(Buffer.concat(job.data)).toEqual(Buffer.from(basis.subarray(0, 10_000)));
    const window = job.data[0]!.buffer;
    expect(spare.buffer).toBeNull();
    job.released!();
    expect(spare.buffer?.buffer).toBe(window);
    // A file closed (written by the receiver itself) writes its last run, then passes the window on: the same buffer.
    const big = rebuild("big", 100);
    const temp = Buffer.from(big.close()).toString();
    expect(fs.readFileSync(path.join(root, temp))).toEqual(Buffer.from(basis));
    fs.unlinkSync(path.join(root, temp));
    expect(spare.buffer?.buffer).toBe(window);
    d.forgetDirs();
  });
});

describe("WriteStaging", () => {
  test("held copies keep their bytes whatever is copied and released meanwhile; released space is reused", () => {
    const size = 4096;
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 1200 }), fc.nat(1000).map((n) => -1 - n)), { maxLength: 200 }), (ops) => {
        const staging = new WriteStaging(size);
        const held: { id: number; view: Uint8Array; bytes: Uint8Array }[] = [];
        let stamp = 0;
        for (const op of ops) {
          if (op > 0) {
            const bytes = new Uint8Array(op).fill(++stamp & 0xff);
            const ids: number[] = [];
            const view = staging.copy(bytes, ids);
            if (view === null) {
              // Refused only when too large, or when older copies still hold the space (released ones behind them included).
              expect(op > size / 4 || held.length > 0).toBe(true);
              expect(ids).toEqual([]);
              continue;
            }
            expect(ids.length).toBe(1);
            expect(Buffer.from(view)).toEqual(Buffer.from(bytes));
            held.push({ id: ids[0]!, view, bytes });
          } else if (held.length) {
            const [gone] = held.splice((-1 - op) % held.length, 1);
            staging.release([gone!.id]);
          }
          for (const h of held) expect(Buffer.from(h.view)).toEqual(Buffer.from(h.bytes));
        }
        staging.release(held.map((h) => h.id));
        expect(staging.copy(new Uint8Array(size / 4), [])).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
